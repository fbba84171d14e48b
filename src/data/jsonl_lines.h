// Reads JSONL one object per line (BOM and "\r\n" tolerated), reporting syntax errors with the
// file, line and column, for the JSONL example reader and BEIR's corpus and queries.
#pragma once

#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>
#include <string>

#include "mbert/status.h"

namespace mbert::data {

class JsonlLines {
 public:
  JsonlLines(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}
  // The next line's object into `out`: true, false at the end, or an error (syntax, not an
  // object, an empty line).
  Result<bool> Next(nlohmann::json* out);
  int64_t line() const { return line_; }
  const std::string& name() const { return name_; }
  // "FILE:LINE: field 'key': what"
  Status FieldError(const std::string& key, const std::string& what) const;
  // A string field: required, or optional (absent/null leaves `out` empty).
  Status String(const nlohmann::json& obj, const std::string& key, bool required,
                std::string* out) const;

 private:
  std::istream& in_;
  std::string name_;
  int64_t line_ = 0;
};

}  // namespace mbert::data
