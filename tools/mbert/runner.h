// Shared plumbing of the model subcommands: load a model directory (weights + tokenizer when
// present), read inputs, turn them into token ids, and run the encoder over packed batches.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inputs.h"
#include "mbert/tokenizer.h"
#include "model/model.h"

namespace mbert::cli {

struct ModelOptions {
  std::string model_dir = MBERT_DEFAULT_MODEL_DIR;
  std::string input = "-";  // file path or "-" for stdin
  std::string format = "text";
  int64_t max_length = 0;        // 0: the model's max_position_embeddings
  int64_t batch_tokens = 16384;  // tokens per packed forward
  std::vector<std::string> texts;  // positional texts instead of --input
  std::string dtype = "f32";       // weight storage: f32 or bf16 (see LoadOptions)
};

void AddModelOptions(CLI::App* app, ModelOptions* o);

struct CliModel {
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;
};

// Loads o.model_dir with o.dtype weights.
Result<CliModel> LoadCliModel(const ModelOptions& o);

// Reads the records named by the options (positional texts, a file, or stdin).
Result<std::vector<InputRecord>> ReadRecords(const ModelOptions& o);

// Token ids per record: tokenized with special tokens ([CLS] ... [SEP]) for text, as given for
// ids. Sequences longer than max_length are truncated (the tokenizer keeps the closing [SEP]).
// `encodings` (optional) receives the tokenizer output (empty for id inputs).
Result<std::vector<std::vector<int32_t>>> EncodeRecords(const CliModel& m,
                                                        const std::vector<InputRecord>& recs,
                                                        int64_t max_length,
                                                        std::vector<Encoding>* encodings);

// Packs consecutive sequences into batches of at most `batch_tokens` tokens (a longer sequence
// gets a batch of its own) and runs the encoder on each; `fn(first_index, batch, hidden)`.
using BatchFn =
    std::function<Status(size_t first, const PackedBatch& batch, const std::vector<float>& hidden)>;
Status RunBatches(Model& model, const std::vector<std::vector<int32_t>>& seqs,
                  int64_t batch_tokens, const BatchFn& fn);

// Prints "error: <message>" to stderr and returns 1.
int ReportError(const Status& st);

}  // namespace mbert::cli
