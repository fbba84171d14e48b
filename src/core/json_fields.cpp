#include "core/json_fields.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace mbert {

namespace {

using json = nlohmann::json;

// The offending value as the user wrote it, cut short so a huge value cannot flood the message.
std::string Got(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return ", got " + s;
}

std::string Num(double x) {
  char buf[32];
  // Whole bounds up to a billion read best as integers ("10", not "1e+01").
  if (x == std::floor(x) && std::fabs(x) <= 1e9) {
    std::snprintf(buf, sizeof buf, "%.0f", x);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.17g", x);
  // %.17g spells 0.02 as 0.02000000000000000042; the shortest form that reads back is clearer.
  for (int p = 1; p <= 17; ++p) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*g", p, x);
    if (std::strtod(b, nullptr) == x) return b;
  }
  return buf;
}

}  // namespace

Status CheckJsonInt(const json& v, const std::string& field, int64_t lo, int64_t hi, int64_t* out) {
  const std::string range =
      " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (hi < 0 || u > static_cast<uint64_t>(hi)) return Status::Error(field + range + Got(v));
    *out = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    *out = v.get<int64_t>();
  } else {
    return Status::Error(field + range + Got(v));
  }
  if (*out < lo || *out > hi) return Status::Error(field + range + Got(v));
  return Status::Ok();
}

Status CheckJsonNumber(const json& v, const std::string& field, double lo, double hi, bool lo_open,
                       double* out) {
  const std::string range = " must be a finite number in " + std::string(lo_open ? "(" : "[") +
                            Num(lo) + ", " + Num(hi) + "]";
  if (!v.is_number()) return Status::Error(field + range + Got(v));
  const double x = v.get<double>();
  // !(x >= lo) also catches NaN, which a json object built in memory can hold.
  if (!std::isfinite(x) || !(lo_open ? x > lo : x >= lo) || !(x <= hi))
    return Status::Error(field + range + Got(v));
  *out = x;
  return Status::Ok();
}

Result<JsonFields> JsonFields::Of(const json& object, std::string origin, std::string prefix) {
  if (!object.is_object()) {
    const std::string what = prefix.empty()
                                 ? origin + ": must be a JSON object"
                                 : origin + ": field '" + prefix.substr(0, prefix.size() - 1) +
                                       "' must be a JSON object";
    return Status::Error(what + Got(object));
  }
  return JsonFields(&object, std::move(origin), std::move(prefix));
}

bool JsonFields::Has(const char* key) const {
  auto it = object_->find(key);
  return it != object_->end() && !it->is_null();
}

std::string JsonFields::Field(std::string_view key) const {
  return origin_ + ": field '" + prefix_ + std::string(key) + "'";
}

Status JsonFields::Error(std::string_view key, const std::string& what) const {
  return Status::Error(Field(key) + " " + what);
}

Status JsonFields::Number(const char* key, double* out, double lo, double hi, bool lo_open) const {
  if (!Has(key)) return Status::Ok();
  return CheckJsonNumber(at(key), Field(key), lo, hi, lo_open, out);
}

Status JsonFields::Number(const char* key, float* out, double lo, double hi, bool lo_open) const {
  double d = *out;
  MBERT_RETURN_IF_ERROR(Number(key, &d, lo, hi, lo_open));
  *out = static_cast<float>(d);
  return Status::Ok();
}

Status JsonFields::Bool(const char* key, bool* out) const {
  if (!Has(key)) return Status::Ok();
  if (!at(key).is_boolean()) return Error(key, "must be true or false" + Got(at(key)));
  *out = at(key).get<bool>();
  return Status::Ok();
}

Status JsonFields::String(const char* key, std::string* out) const {
  if (!Has(key)) return Status::Ok();
  if (!at(key).is_string()) return Error(key, "must be a string" + Got(at(key)));
  *out = at(key).get<std::string>();
  return Status::Ok();
}

Status JsonFields::StringList(const char* key, std::vector<std::string>* out,
                              size_t max_items) const {
  if (!Has(key)) return Status::Ok();
  const json& v = at(key);
  const std::string what = "must be a list of at most " + std::to_string(max_items) + " strings";
  if (!v.is_array() || v.size() > max_items) return Error(key, what + Got(v));
  std::vector<std::string> items;
  for (const json& s : v) {
    if (!s.is_string()) return Error(key, what + Got(s));
    items.push_back(s.get<std::string>());
  }
  *out = std::move(items);
  return Status::Ok();
}

Result<JsonFields> JsonFields::Object(const char* key) const {
  static const json kEmpty = json::object();
  if (!Has(key)) return JsonFields(&kEmpty, origin_, prefix_ + key + ".");
  return Of(at(key), origin_, prefix_ + key + ".");
}

Status JsonFields::OnlyKnown(std::initializer_list<std::string_view> known) const {
  for (auto it = object_->begin(); it != object_->end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      return Status::Error(origin_ + ": unknown field '" + prefix_ + it.key() + "'");
  }
  return Status::Ok();
}

}  // namespace mbert
