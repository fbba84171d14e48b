// Reading CLI inputs: one text per line (default), JSONL objects ({"text": ..., "text_pair": ...}
// or {"input_ids": [...]}), or lines of whitespace-separated token ids (--format ids). Inputs are
// read a chunk at a time (InputReader), so memory does not grow with the number of lines.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mbert/status.h"

namespace mbert::cli {

enum class InputFormat { kText, kJsonl, kIds };

struct InputRecord {
  std::string text;
  std::optional<std::string> text_pair;
  std::vector<int32_t> ids;  // set for kIds and JSONL "input_ids"
  bool has_ids = false;
  int64_t line = 0;  // 1-based input line (or argument), for error messages
};

Result<InputFormat> ParseInputFormat(const std::string& s);

// One line (without its newline) in `format`: the record, or nullopt for a line that holds no
// input (empty in text and ids formats, blank in jsonl). `where` ("stdin:12") prefixes errors.
// Pure: no I/O, any bytes in (the fuzz target fuzz/fuzz_cli_inputs.cpp feeds it).
Result<std::optional<InputRecord>> ParseInputLine(std::string_view line, InputFormat format,
                                                  const std::string& where);

// The inputs of a command, a chunk at a time: lines of a stream (a file or stdin), or the
// positional arguments (each argument one line). A chunk ends after kChunkInputs inputs or once
// it holds kChunkBytes bytes of input lines, so a command that processes and writes each chunk
// before reading the next runs in memory flat in the number of lines.
class InputReader {
 public:
  static constexpr size_t kChunkInputs = 4096;
  static constexpr size_t kChunkBytes = size_t{1} << 20;

  // The positional arguments when there are any, else the file at `path` ("-": stdin).
  static Result<InputReader> Open(std::vector<std::string> args, const std::string& path,
                                  InputFormat format);
  // `origin` names the stream in errors ("stdin" or the file path); `in` must outlive the reader.
  InputReader(std::istream* in, InputFormat format, std::string origin);
  InputReader(std::vector<std::string> args, InputFormat format);

  // Replaces *chunk with the next inputs; false once every input was read. An error names the
  // line at fault; a source without any input at all is an error too.
  Result<bool> Next(std::vector<InputRecord>* chunk);

  int64_t inputs_read() const { return inputs_read_; }

 private:
  // The next raw line (false at the end): from the stream, or the next argument.
  bool NextLine(std::string* line);

  std::unique_ptr<std::istream> file_;  // the file Open opened (in_ points to it)
  std::istream* in_ = nullptr;
  std::vector<std::string> args_;
  size_t next_arg_ = 0;
  InputFormat format_;
  std::string origin_;
  int64_t lineno_ = 0;
  int64_t inputs_read_ = 0;
};

}  // namespace mbert::cli
