// Whole-file reads and JSON parsing with errors that name the file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "mbert/status.h"

namespace mbert {

Result<std::string> ReadFile(const std::string& path);
// Parses `path` as JSON; a syntax error names the file and the byte offset.
Result<nlohmann::json> ReadJsonFile(const std::string& path);
bool FileExists(const std::string& path);

}  // namespace mbert
