// Whole-file reads and JSON parsing with errors that name the file.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "mbert/status.h"

namespace mbert {

// Files larger than this are refused before anything is allocated for them (training text and
// tokenizer.json go through ReadFile; a real one is far smaller).
constexpr uint64_t kMaxReadFileBytes = uint64_t{16} << 30;
// JSON configs (config.json, training configs, modules.json, trainer_state.json) are kilobytes to
// a few megabytes; nlohmann::json needs several times the text's size in memory.
constexpr uint64_t kMaxJsonFileBytes = uint64_t{256} << 20;

// Reads a regular file of at most `max_bytes`. A FIFO, a device (/dev/zero), a socket or a
// directory is an error before any read: it could block forever or never end.
Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes = kMaxReadFileBytes);
// Parses `path` as JSON; a syntax error names the file and the byte offset, a number beyond
// double's range (1e400) is an error rather than an exception.
Result<nlohmann::json> ReadJsonFile(const std::string& path,
                                    uint64_t max_bytes = kMaxJsonFileBytes);
bool FileExists(const std::string& path);

}  // namespace mbert
