#include "serve/json_requests.h"

#include <limits>

#include "serve/api_error.h"

namespace mbert::serve {

namespace {

[[noreturn]] void Invalid(const std::string& message) { throw ApiError(422, kValidation, message); }
[[noreturn]] void Empty(const std::string& message) { throw ApiError(422, kEmpty, message); }

const char* TypeName(const Json& v) { return v.type_name(); }

std::string Elem(const char* field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

std::vector<int32_t> ParseIds(const Json& arr, const std::string& where) {
  if (arr.empty()) Empty(where + " is an empty list of token ids");
  std::vector<int32_t> ids;
  ids.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    const Json& v = arr[i];
    // Floats (1.0) are not ids; unsigned and signed integers are, within int32.
    if (!v.is_number_integer())
      Invalid(where + "[" + std::to_string(i) + "] must be an integer token id, got " +
              TypeName(v));
    const int64_t id =
        v.is_number_unsigned()
            ? static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), uint64_t{1} << 40))
            : v.get<int64_t>();
    if (id < 0 || id > std::numeric_limits<int32_t>::max())
      Invalid(where + "[" + std::to_string(i) + "] = " + std::to_string(id) +
              " is not a valid token id");
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

std::string ParseText(const Json& v, const std::string& where) {
  if (!v.is_string()) Invalid(where + " must be a string, got " + TypeName(v));
  std::string s = v.get<std::string>();
  if (s.empty()) Empty(where + " is an empty string");
  return s;
}

void CheckCount(size_t n, const char* field) {
  if (n == 0) Empty(std::string(field) + " is an empty list");
  if (n > kMaxInputsPerRequest)
    Invalid(std::string(field) + " has " + std::to_string(n) + " inputs, more than the limit of " +
            std::to_string(kMaxInputsPerRequest) + " per request");
}

RawInput TextInput(std::string text) {
  RawInput in;
  in.text = std::move(text);
  return in;
}

RawInput IdsInput(std::vector<int32_t> ids) {
  RawInput in;
  in.ids = std::move(ids);
  in.is_ids = true;
  return in;
}

}  // namespace

Json ParseBody(const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ApiError(400, kValidation, "the request body is not valid JSON");
  if (!j.is_object())
    Invalid(std::string("the request body must be a JSON object, got ") + TypeName(j));
  return j;
}

std::string JsonString(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json& RequiredField(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) Invalid(std::string("missing field `") + key + "`");
  return *it;
}

std::optional<bool> OptionalBool(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean())
    Invalid(std::string("`") + key + "` must be a boolean, got " + TypeName(*it));
  return it->get<bool>();
}

std::optional<int64_t> OptionalInt(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer())
    Invalid(std::string("`") + key + "` must be an integer, got " + TypeName(*it));
  if (it->is_number_unsigned() && it->get<uint64_t>() > (uint64_t{1} << 40))
    Invalid(std::string("`") + key + "` is out of range");
  return it->get<int64_t>();
}

std::optional<std::string> OptionalString(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    Invalid(std::string("`") + key + "` must be a string, got " + TypeName(*it));
  return it->get<std::string>();
}

ParsedInputs ParseInputs(const Json& value, const char* field) {
  ParsedInputs out;
  if (value.is_string()) {
    out.items.push_back(TextInput(ParseText(value, field)));
    return out;
  }
  if (!value.is_array())
    Invalid(std::string("`") + field + "` must be a string, a list of strings or token ids, got " +
            TypeName(value));
  CheckCount(value.size(), field);
  if (value[0].is_number()) {  // [int]: one sequence of token ids
    out.items.push_back(IdsInput(ParseIds(value, field)));
    return out;
  }
  out.batched = true;
  const bool texts = value[0].is_string();
  for (size_t i = 0; i < value.size(); ++i) {
    const Json& v = value[i];
    if (texts) {
      out.items.push_back(TextInput(ParseText(v, Elem(field, i))));
    } else if (v.is_array()) {
      out.items.push_back(IdsInput(ParseIds(v, Elem(field, i))));
    } else {
      Invalid(Elem(field, i) + " must be " +
              (i == 0 ? "a string or a list of token ids" : "of the same kind as the first input") +
              ", got " + TypeName(v));
    }
  }
  return out;
}

ParsedInputs ParsePredictInputs(const Json& value, const char* field) {
  ParsedInputs out;
  // One sequence: a text, [text], [text, pair], or [ids...].
  auto one = [&](const Json& v, const std::string& where) -> RawInput {
    if (v.is_string()) return TextInput(ParseText(v, where));
    if (!v.is_array()) Invalid(where + " must be a string or a list, got " + TypeName(v));
    if (v.empty()) Empty(where + " is an empty list");
    if (v[0].is_number()) return IdsInput(ParseIds(v, where));
    if (v.size() > 2)
      Invalid(where + " must be [text] or [text, text_pair], got a list of " +
              std::to_string(v.size()));
    RawInput in = TextInput(ParseText(v[0], where + "[0]"));
    if (v.size() == 2) in.text_pair = ParseText(v[1], where + "[1]");
    return in;
  };
  if (value.is_array() && !value.empty() && value[0].is_array()) {
    CheckCount(value.size(), field);
    out.batched = true;
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_array())
        Invalid(Elem(field, i) + " must be a list like the first input, got " + TypeName(value[i]));
      out.items.push_back(one(value[i], Elem(field, i)));
    }
    return out;
  }
  out.items.push_back(one(value, field));
  return out;
}

std::vector<std::vector<int32_t>> ParseIdLists(const Json& value, const char* field) {
  if (!value.is_array())
    Invalid(std::string("`") + field + "` must be a list of token ids, got " + TypeName(value));
  CheckCount(value.size(), field);
  if (!value[0].is_array()) return {ParseIds(value, field)};
  std::vector<std::vector<int32_t>> out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_array())
      Invalid(Elem(field, i) + " must be a list of token ids, got " + TypeName(value[i]));
    out.push_back(ParseIds(value[i], Elem(field, i)));
  }
  return out;
}

}  // namespace mbert::serve
