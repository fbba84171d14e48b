// Added tokens (tokenizer.json "added_tokens"): found in the text before the model runs, leftmost
// then longest, without overlaps (HF AddedVocabulary with aho-corasick LeftmostLongest). Tokens
// with normalized=false are searched in the raw text, the others in each remaining piece after
// normalization; lstrip/rstrip widen a match over adjacent White_Space, single_word rejects a
// match touching a word character.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mbert::tok {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false, normalized = true, lstrip = false, rstrip = false, single_word = false;
};

// One piece of a split: an added token (index into the token list) or plain text (-1).
struct AddedSplit {
  int32_t token;  // index into AddedMatcher's token list, -1 for text
  uint32_t begin, end;
};

class AddedMatcher {
 public:
  // `tokens` must outlive the matcher; `use` selects which of them this matcher finds.
  void Build(const std::vector<AddedToken>* tokens, const std::vector<int32_t>& use);
  bool empty() const { return nodes_.size() <= 1; }
  // Splits s into text pieces and added tokens, as HF find_matches. Appends to *out; an empty `s`
  // yields nothing.
  void Split(std::string_view s, std::vector<AddedSplit>* out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;  // byte -> node
    int32_t token = -1;                             // index of the token ending here
  };
  int32_t Child(int32_t node, uint8_t b) const;
  const std::vector<AddedToken>* tokens_ = nullptr;
  std::vector<Node> nodes_;
  bool first_[256] = {};
};

}  // namespace mbert::tok
