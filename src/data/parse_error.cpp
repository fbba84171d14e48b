#include "data/parse_error.h"

namespace mbert::data {

std::string Location(const std::string& file, int64_t line, int64_t column) {
  std::string s = file;
  if (line > 0) s.append(1, ':').append(std::to_string(line));
  if (line > 0 && column > 0) s.append(1, ':').append(std::to_string(column));
  return s;
}

Status ParseError(const std::string& file, int64_t line, int64_t column, const std::string& what) {
  return Status::Error(Location(file, line, column) + ": " + what);
}

}  // namespace mbert::data
