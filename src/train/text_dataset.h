// Training data: documents from text files (paragraphs separated by blank lines, or one document
// per line) or JSONL files (a "text" field per line), tokenized once with [CLS] ... [SEP]; or
// pre-tokenized shards (.safetensors with input_ids and cu_seqlens). Documents are truncated to
// max_seq_len and split deterministically into train and held-out documents.
#pragma once

#include <string>
#include <vector>

#include "mbert/status.h"
#include "mbert/tokenizer.h"
#include "train/data_fingerprint.h"

namespace mbert {

struct TextDatasetOptions {
  std::vector<std::string> files;
  std::string split = "paragraph";  // text files: "paragraph" (blank-line separated) or "line"
  std::string jsonl_field = "text";
  int64_t max_seq_len = 1024;  // tokens per document including [CLS]/[SEP]
  int64_t min_tokens = 4;      // shorter documents are dropped
  int eval_every = 50;         // every n-th document is held out (0 = none)
};

struct TextDataset {
  std::vector<std::vector<int32_t>> train;
  std::vector<std::vector<int32_t>> eval;
  int64_t train_tokens = 0;
  int64_t truncated = 0;
  std::vector<DataSourceInfo> sources;  // every file read, in order, for the data fingerprint
  nlohmann::json fingerprint() const { return DataFingerprint(sources, train, eval); }
};

Result<TextDataset> LoadTextDataset(const TextDatasetOptions& opts, const Tokenizer& tok,
                                    int threads = 0);

}  // namespace mbert
