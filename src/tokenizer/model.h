// The loaded tokenizer (everything `tokenizer.json` describes), shared read-only by all threads.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_vocab.h"
#include "tokenizer/bpe.h"

namespace mbert::tok {

// One item of a TemplateProcessing template.
struct TemplatePiece {
  bool is_sequence = false;
  int sequence = 0;  // 0 = $A, 1 = $B (for sequences)
  int32_t type_id = 0;
  std::vector<int32_t> ids;  // for special tokens (HF allows several ids per special)
  std::vector<std::string> tokens;
};

struct Model {
  // normalizer
  bool nfc = false;
  // pre-tokenizer (ByteLevel)
  bool add_prefix_space = false;
  bool use_regex = true;
  // model
  Bpe bpe;
  // added tokens, in file order
  std::vector<AddedToken> added;
  std::unordered_map<std::string, int32_t> added_by_content;  // -> id
  std::unordered_map<int32_t, int32_t> added_by_id;           // id -> index in `added`
  AddedMatcher raw_matcher;                                   // normalized == false
  AddedMatcher norm_matcher;                                  // normalized == true
  // post-processor; absent = no special tokens
  bool has_template = false;
  std::vector<TemplatePiece> single, pair;
  // decoder
  bool byte_level_decoder = false;
  // well-known ids (-1 when absent)
  int32_t cls = -1, sep = -1, pad = -1, mask = -1, unk = -1;
  std::string pad_token;
  size_t vocab_size = 0;
  uint64_t instance = 0;  // unique per loaded model, keys the per-thread BPE caches
};

}  // namespace mbert::tok
