// Reader of the tokenizer goldens written by tools/golden/tokenizer_goldens.py (xz-compressed
// records of varints and strings; the format is described in that script).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mbert::testing {

struct GoldenOptions {
  bool present = false;
  int add_special = 1, trunc_on = 0, strategy = 0, max_len = 0, trunc_side = 0, pad_on = 0,
      pad_len = 0, multiple = 0, pad_side = 0;
};

struct GoldenRecord {
  std::string text, text_pair;
  bool pair = false, error = false, has_tokens = false;
  GoldenOptions opts;
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  std::vector<uint8_t> special_mask, attention_mask;
  std::string decode_skip, decode_keep, decode_clean;
  std::vector<std::string> tokens;
};

// Reads every record of `path`; on failure returns false with *error set.
bool ReadGoldens(const std::string& path, std::vector<GoldenRecord>* out, std::string* error);

// Directory of the committed goldens ($MBERT_TESTDATA_DIR/tokenizer) and the real tokenizer.json.
std::string GoldenDir();
std::string ModernBertTokenizerJson();

}  // namespace mbert::testing
