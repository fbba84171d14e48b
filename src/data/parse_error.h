// The one shape of every data-file error: "FILE:LINE:COLUMN: what was wrong; what to do", with
// LINE and COLUMN 1-based (COLUMN counts bytes, as compilers and editors' "go to" do). A value of
// 0 leaves that part out (an error about a whole file or a whole line).
#pragma once

#include <cstdint>
#include <string>

#include "mbert/status.h"

namespace mbert::data {

std::string Location(const std::string& file, int64_t line, int64_t column);
Status ParseError(const std::string& file, int64_t line, int64_t column, const std::string& what);

}  // namespace mbert::data
