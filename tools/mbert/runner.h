// Shared plumbing of the model subcommands (fill-mask, embed, classify): their common options,
// loading the model through the public API, and reading inputs into mbert::Input.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
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
  int64_t batch_tokens = 16384;    // tokens per packed forward
  std::vector<std::string> texts;  // positional texts instead of --input
  std::string dtype = "f32";       // weight storage: f32 or bf16 (see LoadOptions)
};

void AddModelOptions(CLI::App* app, ModelOptions* o);

// Loads o.model_dir with o.dtype weights and makes a context with the options' batch budget and
// truncation length.
Result<Context> LoadContext(const ModelOptions& o);

// Reads the inputs named by the options (positional texts, a file, or stdin).
Result<std::vector<Input>> ReadModelInputs(const ModelOptions& o);

// Prints "error: <message>" to stderr and returns 1.
int ReportError(const Status& st);

}  // namespace mbert::cli
