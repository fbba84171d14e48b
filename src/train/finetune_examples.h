// Tokenized fine-tuning examples for `mbert finetune` (finetune_run.h), built from the data
// readers' output (src/data): sentence(-pair) examples with a class id or a regression target,
// and CoNLL sentences with one tag per word.
//
// Token classification labels one token per word, the first token of the word (transformers'
// run_ner default, label_all_tokens=False); every other token (later pieces, [CLS], [SEP]) is
// -100. The words are joined with single spaces and encoded once; a token belongs to the word
// whose code-point span it overlaps (tokenizer offsets, tokenizer.h).
//
// Length: an encoding longer than `max_length` (the model's max_position_embeddings when 0) is an
// error naming the file and line, unless `truncate` is set: then the tokenizer truncates (pairs
// longest-first) and the words cut off a tagged sentence are dropped from its gold tags too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/conll.h"
#include "data/text_examples.h"
#include "mbert/status.h"
#include "mbert/tokenizer.h"

namespace mbert {

enum class FineTuneTask { kSequenceClassification, kRegression, kTokenClassification };

struct FineTuneExample {
  std::vector<int32_t> ids;
  int32_t label = -1;                 // sequence classification
  float target = 0.0f;                // regression
  std::vector<int32_t> token_labels;  // token classification: (ids.size()) tag id or -100
  int64_t line = 0;                   // where the example starts in its file
};

struct FineTuneData {
  FineTuneTask task = FineTuneTask::kSequenceClassification;
  std::string source;
  std::vector<std::string> id2label;  // classification; empty for regression
  std::vector<FineTuneExample> examples;
  int64_t truncated = 0;  // examples shortened (only with truncate)
};

struct TokenizeOptions {
  int64_t max_length = 0;
  bool truncate = false;
};

// `ds` must have its labels resolved (ResolveLabels / the readers do it). Regression iff
// ds.kind is kRegression.
Result<FineTuneData> TokenizeTextData(const data::TextDataset& ds, const Tokenizer& tok,
                                      const TokenizeOptions& opts);
Result<FineTuneData> TokenizeTaggedData(const data::TaggedDataset& ds, const Tokenizer& tok,
                                        const TokenizeOptions& opts);

}  // namespace mbert
