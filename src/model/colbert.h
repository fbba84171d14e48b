// ColBERT (PyLate 1.6.0) multi-vector encoding, shared by fine-tuning (src/train/retrieval_*),
// its dev evaluation and inference (src/tasks, `mbert embed`, `mbert eval --task beir`):
//   ids       PyLate's tokenize(): [CLS] prefix t1 … [SEP], truncated to the role's length; a
//             query padded with [MASK] to exactly query_length (do_query_expansion).
//   vectors   per token u = v / max(‖v‖, 1e-12), v = P · h (P the Dense projection (dim, C), no
//             bias), h the encoder's last hidden state; a document's skiplist tokens (PyLate's
//             punctuation) dropped, as PyLate's encode does; a query keeps every token.
// A PyLate directory: modules.json with a "pylate." module (Transformer + pylate Dense),
// 1_Dense/{config.json, model.safetensors}, config_sentence_transformers.json (prefixes,
// query_length, document_length, attend_to_expansion_tokens, skiplist_words,
// do_query_expansion; PyLate's defaults when absent).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "mbert/status.h"
#include "mbert/tokenizer.h"

namespace mbert {

// PyLate's prefix strings.
inline constexpr const char* kColbertQueryPrefix = "[Q] ";
inline constexpr const char* kColbertDocumentPrefix = "[D] ";

// PyLate's default skiplist_words: Python's string.punctuation, one character each.
std::vector<std::string> ColbertPunctuation();

// The special ids ColBERT sequences are built from.
struct ColbertIds {
  int32_t cls = -1, sep = -1, mask = -1, query_prefix = -1, document_prefix = -1;
};

// [CLS], [SEP], [MASK] and the two prefixes as `tok` spells them; -1 for any it lacks.
ColbertIds ColbertIdsOf(const Tokenizer& tok, const std::string& query_prefix,
                        const std::string& document_prefix);

// PyLate's tokenize() layout: [CLS] prefix t1 … [SEP] (the tokenizer's [CLS] … [SEP] with the
// prefix id inserted at position 1), truncated so the whole fits `max_length`; a query is then
// padded with [MASK] to exactly max_length (query expansion). `tokens` excludes [CLS]/[SEP].
std::vector<int32_t> ColbertQueryIds(const std::vector<int32_t>& tokens, int32_t cls, int32_t sep,
                                     int32_t prefix, int32_t mask, int64_t max_length);
std::vector<int32_t> ColbertDocumentIds(const std::vector<int32_t>& tokens, int32_t cls,
                                        int32_t sep, int32_t prefix, int64_t max_length);

// A text as a query (`length` = query_length, [MASK]-expanded when `expand`) or a document
// (`length` = document_length): the tokenizer without special tokens, then the layout above.
// `full_length` (optional) receives the length before truncation (tokens + 3).
Result<std::vector<int32_t>> ColbertTextIds(const Tokenizer& tok, const ColbertIds& ids,
                                            const std::string& text, bool query, int64_t length,
                                            bool expand = true, int64_t* full_length = nullptr);

// The ids of `words` in `tok` (PyLate: convert_tokens_to_ids); words without an id are skipped.
std::set<int32_t> ColbertSkiplistIds(const Tokenizer& tok, const std::vector<std::string>& words);

// One sequence's ColBERT vectors: hidden (len, C) and its ids; appends a (kept, dim) block to
// `out` (dim = projection.dim(0)), leaving out tokens whose id is in `skip`; returns kept.
// Projection and norm are accumulated in double, the result rounded to float.
int64_t AppendColbertVectors(const float* hidden, const int32_t* ids, int64_t len, int64_t C,
                             const Tensor& projection, const std::set<int32_t>& skip,
                             std::vector<float>* out);

// The ColBERT part of a PyLate directory.
struct ColbertModule {
  Tensor projection;  // (dim, C), 1_Dense linear.weight
  std::string query_prefix = kColbertQueryPrefix, document_prefix = kColbertDocumentPrefix;
  int64_t query_length = 32, document_length = 180;  // PyLate's defaults
  bool do_query_expansion = true;
  std::vector<std::string> skiplist_words = ColbertPunctuation();

  int64_t dim() const { return projection.dim(0); }

  // Whether `dir` is a PyLate ColBERT directory (a "pylate." module in modules.json).
  static Result<bool> IsColbertDir(const std::string& dir);
  // Reads the Dense projection and config_sentence_transformers.json; errors name the file and
  // field (a Dense with a bias or an activation, attend_to_expansion_tokens false: not supported).
  static Result<ColbertModule> Load(const std::string& dir, int64_t hidden_size);
};

}  // namespace mbert
