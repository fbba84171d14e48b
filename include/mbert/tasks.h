// The tasks mbert runs on a model: tokenize, embed, hidden states, fill-mask, classify. Each
// takes a Context (per-caller state over a shared Model) and any number of inputs, packs them
// into batches of the context's token budget (no padding) and returns one result per input, in
// input order. A result does not depend on what else was in the batch. The CLI, the server and
// the evaluators call these same functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mbert/context.h"
#include "mbert/status.h"
#include "mbert/tokenizer.h"

namespace mbert {

// One input sequence: a text (optionally with a second text, e.g. for a cross-encoder), which
// the model's tokenizer turns into [CLS] text [SEP] (text_pair [SEP]); or token ids used as given.
struct Input {
  std::string text;
  std::optional<std::string> text_pair;
  std::vector<int32_t> ids;
  bool is_ids = false;

  static Input Text(std::string text) {
    Input in;
    in.text = std::move(text);
    return in;
  }
  static Input Pair(std::string text, std::string text_pair) {
    Input in;
    in.text = std::move(text);
    in.text_pair = std::move(text_pair);
    return in;
  }
  static Input Ids(std::vector<int32_t> ids) {
    Input in;
    in.ids = std::move(ids);
    in.is_ids = true;
    return in;
  }
};

// The encodings the model runs on (text through the tokenizer with special tokens and
// truncation to the context's max_length; ids as given, truncated likewise, with only `ids` set).
MBERT_API Result<std::vector<Encoding>> Tokenize(const Context& ctx,
                                                 const std::vector<Input>& inputs);

// A (rows, dim) row-major matrix.
struct Matrix {
  int64_t rows = 0, dim = 0;
  std::vector<float> values;
  const float* row(int64_t i) const { return values.data() + i * dim; }
};

struct EmbedOptions {
  std::optional<EmbedPooling> pooling;  // default: the model's (ModelInfo::embedding_pooling)
  bool normalize = false;               // L2-normalise (also done when the model says so)
  int dims = 0;                         // Matryoshka: keep the first `dims` dimensions (0: all)
};

// One sentence embedding per input: rows = inputs.size(). On a ColBERT model only with an
// explicit options.pooling (of the encoder's hidden states, no projection): its output is
// ColbertEmbed's.
MBERT_API Result<Matrix> Embed(Context& ctx, const std::vector<Input>& inputs,
                               const EmbedOptions& options = {});

// The last hidden state of every token of every input (one (tokens, hidden_size) matrix per
// input): per-token vectors for ColBERT-style retrieval or custom heads.
MBERT_API Result<std::vector<Matrix>> HiddenStates(Context& ctx, const std::vector<Input>& inputs);

// ColBERT (PyLate) token vectors of a ColBERT model (ModelInfo::colbert), one (tokens, dim)
// matrix of L2-normalised rows per input, exactly as `mbert finetune --task colbert` encodes in
// training and dev evaluation (src/model/colbert.h): a query is "[CLS] [Q] text [SEP]"
// [MASK]-expanded to colbert_query_length rows; a document is "[CLS] [D] text [SEP]" cut to
// colbert_document_length tokens, its skiplist (punctuation) tokens left out. Texts longer than
// the role's length are truncated, as PyLate does, and listed in Context::truncated. Inputs must
// be single texts (no pairs, no ids).
enum class ColbertRole { kQuery, kDocument };
MBERT_API Result<std::vector<Matrix>> ColbertEmbed(Context& ctx, const std::vector<Input>& inputs,
                                                   ColbertRole role);

struct FillMaskOptions {
  int top_k = 5;
};
struct MaskCandidate {    // transformers' fill-mask pipeline fields
  float score = 0.0f;     // softmax probability
  int32_t token = 0;      // token id
  std::string token_str;  // the token decoded (empty without a tokenizer)
  std::string sequence;   // the input decoded with this token in place of the mask
};
struct MaskPrediction {
  int32_t position = 0;                   // token index of the mask in the encoded input
  std::vector<MaskCandidate> candidates;  // best first; ties broken by lower token id
};
struct FillMaskResult {
  std::vector<MaskPrediction> masks;  // one per mask token, in order
};

// Needs a ModernBertForMaskedLM model; every input must contain the mask token.
MBERT_API Result<std::vector<FillMaskResult>> FillMask(Context& ctx,
                                                       const std::vector<Input>& inputs,
                                                       const FillMaskOptions& options = {});

struct SequenceClassification {
  int label_id = 0;
  std::string label;          // id2label[label_id]
  float score = 0.0f;         // its softmax probability
  std::vector<float> scores;  // softmax over all labels, by label id
  std::vector<float> logits;  // raw logits, by label id
};

// Needs a ModernBertForSequenceClassification model.
MBERT_API Result<std::vector<SequenceClassification>> ClassifySequences(
    Context& ctx, const std::vector<Input>& inputs);

struct TokenLabel {
  int32_t id = 0;      // token id
  std::string token;   // token string (empty for id inputs)
  int64_t start = -1;  // code-point offsets in the input text ((0, 0) for special tokens,
                       // -1 for id inputs)
  int64_t end = -1;
  int label_id = 0;
  std::string label;
  float score = 0.0f;  // softmax probability of the label
};
struct TokenClassification {
  std::vector<TokenLabel> tokens;  // every token of the encoded input, specials included
};

// Needs a ModernBertForTokenClassification model.
MBERT_API Result<std::vector<TokenClassification>> ClassifyTokens(Context& ctx,
                                                                  const std::vector<Input>& inputs);

}  // namespace mbert
