// CoNLL-style token files: one token per line with its columns separated by spaces or tabs (the
// token first, the tag in the last column by default, as CoNLL-2003's "token POS chunk NER"), a
// blank line between sentences, "-DOCSTART-" lines (document markers) skipped. Tags map to ids
// with LabelMap (the caller's list, else the tags seen in byte order).
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "data/label_map.h"

namespace mbert::data {

struct TaggedSentence {
  std::vector<std::string> tokens;
  std::vector<std::string> tags;
  std::vector<int64_t> tag_ids;
  std::vector<int64_t> token_lines;  // 1-based line of each token
  int64_t line = 0;                  // line of the first token
};

struct TaggedDataset {
  std::string source;
  LabelMap labels;
  std::vector<TaggedSentence> sentences;
};

struct ConllOptions {
  int tag_column = -1;              // 0-based; -1 = the last column
  std::vector<std::string> labels;  // fixed id2label order (e.g. the training split's)
};

// Streams sentences; `out` is cleared first. A line with a single column (a token without a tag),
// or with fewer columns than tag_column needs, is an error naming file, line and column.
class ConllReader {
 public:
  ConllReader(std::istream& in, std::string name, ConllOptions opts)
      : in_(in), name_(std::move(name)), opts_(std::move(opts)) {}
  Result<bool> Next(TaggedSentence* out);  // tags only; tag_ids left empty

 private:
  std::istream& in_;
  std::string name_;
  ConllOptions opts_;
  int64_t line_ = 0;
};

Result<TaggedDataset> ReadConll(std::istream& in, const std::string& name,
                                const ConllOptions& opts);
Result<TaggedDataset> ReadConll(const std::string& path, const ConllOptions& opts);

}  // namespace mbert::data
