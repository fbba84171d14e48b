// Shared plumbing of the model subcommands (fill-mask, embed, classify): their common options,
// loading the model through the public API, streaming the inputs through a task a chunk at a
// time, and checked output.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "inputs.h"
#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"

namespace mbert::cli {

struct ModelOptions {
  std::string model_dir = MBERT_DEFAULT_MODEL_DIR;
  std::string input = "-";  // file path or "-" for stdin
  std::string format = "text";
  int64_t max_length = 0;          // 0: the model's max_position_embeddings
  bool truncate = false;           // cut longer inputs instead of failing (ContextOptions)
  int64_t batch_tokens = 16384;    // tokens per packed forward
  std::vector<std::string> texts;  // positional texts instead of --input
  std::string dtype = "f32";       // weight storage: f32 or bf16 (see LoadOptions)
};

void AddModelOptions(CLI::App* app, ModelOptions* o);

// Loads o.model_dir with o.dtype weights and makes a context with the options' batch budget and
// input length rule.
Result<Context> LoadContext(const ModelOptions& o);

// Runs fn on the options' inputs (positional texts, a file, or stdin) a chunk at a time
// (InputReader), `first` being the index of the chunk's first input in the whole stream. The
// context's input_offset follows the chunks, so library errors name the input of the stream.
// fn writes its chunk's results; each chunk's output is flushed and checked before the next is
// read. Stops at the first error (the results of the chunks before it are written).
using ChunkFn = std::function<Status(const std::vector<Input>& inputs, int64_t first)>;
Status ForEachInputChunk(const ModelOptions& o, Context& ctx, const ChunkFn& fn);

// Flushes stdout and turns a failed write (a full disk, a closed pipe, /dev/full) into an error.
Status FlushOutput();

// The original length of each of the last task's `n` inputs that the context truncated, else 0.
std::vector<int64_t> TruncatedLengths(const Context& ctx, size_t n);

// Adds "truncated": true and "original_length" to an output line whose input was cut.
void MarkTruncated(int64_t original_length, nlohmann::json* line);

// Prints "error: <message>" to stderr and returns 1.
int ReportError(const Status& st);

}  // namespace mbert::cli
