// The ByteLevel pre-tokenizer's split: GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as a hand-written scanner with the regex's leftmost-first alternation semantics. Every character
// falls in one alternative, so the matches tile the input (HF's Isolated split leaves no gaps).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace mbert::tok {

struct Span {
  uint32_t begin, end;  // bytes
};

// Appends the pieces of valid UTF-8 `s` (offsets relative to s) to *out.
void SplitGpt2(std::string_view s, std::vector<Span>* out);

}  // namespace mbert::tok
