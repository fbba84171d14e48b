// Reading CLI inputs: one text per line (default), JSONL objects ({"text": ..., "text_pair": ...}
// or {"input_ids": [...]}), or lines of whitespace-separated token ids (--ids).
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert::cli {

enum class InputFormat { kText, kJsonl, kIds };

struct InputRecord {
  std::string text;
  std::optional<std::string> text_pair;
  std::vector<int32_t> ids;  // set for kIds and JSONL "input_ids"
  bool has_ids = false;
  int64_t line = 0;  // 1-based input line, for error messages
};

// `origin` names the input (file path or "stdin") in errors. Empty lines are skipped in text and
// ids formats (they carry no input); JSONL lines must each be an object.
Result<std::vector<InputRecord>> ReadInputs(std::istream& in, InputFormat format,
                                            const std::string& origin);

Result<InputFormat> ParseInputFormat(const std::string& s);

}  // namespace mbert::cli
