// User tables: TSV or CSV (RFC 4180) whose first row names the columns. The caller chooses which
// columns hold the text, the optional second text and the label; other columns are ignored. A
// row with a different number of fields than the header is an error (file, line, column).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/delimited_reader.h"
#include "data/text_examples.h"

namespace mbert::data {

struct TableOptions {
  std::optional<Dialect> dialect;  // default: by extension (DialectOfPath)
  // Column names; empty means the first of the defaults present in the header:
  // text "text", "sentence", "sentence1"; text_pair "text_pair", "sentence2" (none = single);
  // label "label".
  std::string text_column;
  std::string text_pair_column;
  std::string label_column;
  LabelKind kind = LabelKind::kClassification;
  std::vector<std::string> labels;  // fixed id2label order (e.g. the training split's)
};

Result<TextDataset> ReadTable(const std::string& path, const TableOptions& opts);
// The same from a stream (tests, fuzzing); `name` is the file name errors carry.
Result<TextDataset> ReadTable(std::istream& in, const std::string& name, Dialect dialect,
                              const TableOptions& opts);

}  // namespace mbert::data
