// Sentence(-pair) examples with a class label or a regression target, the common output of the
// TSV/CSV, JSONL and GLUE readers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/label_map.h"
#include "mbert/status.h"

namespace mbert::data {

enum class LabelKind { kClassification, kRegression };

struct TextExample {
  std::string text;
  std::string text_pair;     // empty for single-sentence tasks (see TextDataset::has_pair)
  std::string label;         // the label as written in the file
  int64_t label_id = -1;     // classification: index into TextDataset::labels
  double value = 0;          // regression: the target
  int64_t line = 0;          // where the example starts in its file (1-based)
  int64_t label_column = 0;  // where its label starts (1-based byte; 0 when unknown)
};

struct TextDataset {
  std::string source;  // the file read
  LabelKind kind = LabelKind::kClassification;
  bool has_pair = false;
  LabelMap labels;  // classification only
  std::vector<TextExample> examples;
};

// Fills label_id (classification) or value (regression) of every example from its label text.
// Classification: with `fixed_labels` non-empty, the map is that list and any other label is an
// error naming file, line and column; otherwise the map is LabelMap::FromSeen over the examples.
// Regression: each label must be a finite decimal number.
Status ResolveLabels(TextDataset* ds, const std::vector<std::string>& fixed_labels);

}  // namespace mbert::data
