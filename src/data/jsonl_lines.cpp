#include "data/jsonl_lines.h"

#include "data/parse_error.h"

namespace mbert::data {

Result<bool> JsonlLines::Next(nlohmann::json* out) {
  std::string line;
  if (!std::getline(in_, line)) return false;
  ++line_;
  if (line_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.find_first_not_of(" \t") == std::string::npos)
    return ParseError(name_, line_, 1, "empty line: expected one JSON object per line");
  try {
    *out = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const int64_t col = e.byte > 0 ? static_cast<int64_t>(e.byte) : 1;
    std::string what = e.what();
    const size_t p = what.find("parse error");
    return ParseError(name_, line_, col,
                      "invalid JSON (" + (p == std::string::npos ? what : what.substr(p)) + ")");
  } catch (const nlohmann::json::exception& e) {
    return ParseError(name_, line_, 1, std::string("invalid JSON (") + e.what() + ")");
  }
  if (!out->is_object())
    return ParseError(name_, line_, 1,
                      std::string("expected a JSON object, got ") + out->type_name());
  return true;
}

Status JsonlLines::FieldError(const std::string& key, const std::string& what) const {
  return ParseError(name_, line_, 0, "field '" + key + "': " + what);
}

Status JsonlLines::String(const nlohmann::json& obj, const std::string& key, bool required,
                          std::string* out) const {
  out->clear();
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return FieldError(key, "missing: every line needs it");
    return Status::Ok();
  }
  if (!it->is_string())
    return FieldError(key, std::string("expected a string, got ") + it->type_name());
  *out = it->get<std::string>();
  return Status::Ok();
}

}  // namespace mbert::data
