// Public tokenizer API: Hugging Face `tokenizer.json` (byte-level BPE as used by ModernBERT) with
// results identical to the Rust `tokenizers` library (ids, offsets, special-token masks, decode).
//
// Conventions (all reproduce what the Python `tokenizers` package reports):
//  - offsets are (begin, end) in Unicode code points of the *original* text of that sequence, also
//    for text that NFC changes; special tokens added by the template and padding get (0, 0);
//  - in a pair encoding each sequence's offsets index into its own text;
//  - input must be valid UTF-8; anything else is an error naming the byte offset (Python strings
//    cannot hold invalid UTF-8, so HF has no behaviour to copy there).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mbert/status.h"
#include "mbert/types.h"

namespace mbert {

enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };
enum class Side { kRight, kLeft };

// Truncation as HF's TruncationParams (stride/overflow not supported).
struct TruncationOptions {
  bool enabled = false;
  size_t max_length = 512;  // counts the special tokens the template adds
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  Side side = Side::kRight;  // which end of a sequence loses tokens
};

// Padding as HF's PaddingParams: to `length` if non-zero, else to the longest encoding of the
// batch; then up to a multiple of `multiple_of` if non-zero.
struct PaddingOptions {
  bool enabled = false;
  size_t length = 0;
  size_t multiple_of = 0;
  Side side = Side::kRight;
};

struct EncodeOptions {
  bool add_special_tokens = true;
  TruncationOptions truncation;
  PaddingOptions padding;
};

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // code points into the original text
  std::vector<uint8_t> special_tokens_mask;            // 1 for template specials and padding
  std::vector<uint8_t> attention_mask;                 // 0 for padding
  std::vector<int32_t> sequence_ids;                   // 0 / 1 for text / pair, -1 for specials
  size_t size() const { return ids.size(); }
};

struct DecodeOptions {
  bool skip_special_tokens = true;
  // transformers' clean_up_tokenization: " ." -> "." , " n't" -> "n't", ... (off in `tokenizers`).
  bool clean_up_tokenization_spaces = false;
};

// One input of EncodeBatch: a text, or a text pair. The views must outlive the call.
struct TextPair {
  TextPair() = default;
  TextPair(std::string_view t) : text(t) {}  // NOLINT: implicit, a batch of plain texts reads well
  TextPair(std::string_view t, std::string_view p) : text(t), text_pair(p), has_pair(true) {}
  std::string_view text;
  std::string_view text_pair;  // ignored unless has_pair
  bool has_pair = false;
};

namespace tok {
struct Model;  // internal, src/tokenizer/model.h
}

class MBERT_API Tokenizer {
 public:
  // Parses a `tokenizer.json`; an unsupported component is an error that names it.
  static Result<Tokenizer> FromFile(const std::string& path);
  static Result<Tokenizer> FromJsonString(std::string_view json, const std::string& origin);
  // `dir`/tokenizer.json.
  static Result<Tokenizer> FromModelDir(const std::string& dir);

  Result<Encoding> Encode(std::string_view text, const EncodeOptions& opts = {}) const;
  Result<Encoding> EncodePair(std::string_view a, std::string_view b,
                              const EncodeOptions& opts = {}) const;
  // Encodes every input on up to `threads` OpenMP threads (0 = omp_get_max_threads()). With padding
  // enabled and length 0, everything is padded to the longest successful encoding.
  std::vector<Result<Encoding>> EncodeBatch(const std::vector<TextPair>& inputs,
                                            const EncodeOptions& opts = {}, int threads = 0) const;

  Result<std::string> Decode(const std::vector<int32_t>& ids, const DecodeOptions& opts = {}) const;

  // -1 when unknown. Looks at added tokens first, then the BPE vocabulary (as HF token_to_id).
  int32_t TokenToId(std::string_view token) const;
  // Empty when out of range.
  std::string IdToToken(int32_t id) const;
  // Largest id + 1 over the vocabulary and the added tokens (HF get_vocab_size(with_added=True)).
  size_t vocab_size() const;
  bool IsSpecial(int32_t id) const;

  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t pad_id() const;
  int32_t mask_id() const;
  int32_t unk_id() const;  // -1 when the file defines none

 private:
  explicit Tokenizer(std::shared_ptr<const tok::Model> m) : m_(std::move(m)) {}
  std::shared_ptr<const tok::Model> m_;
};

}  // namespace mbert
