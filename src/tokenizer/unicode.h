// Unicode character data for the tokenizer, all from utf8proc (no hand-made tables):
// the classes the GPT-2 split pattern distinguishes, White_Space, and NFC with alignments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mbert::tok {

// Classes of the GPT-2 pattern: \p{L}, \p{N}, \s (White_Space, which is what Oniguruma's \s
// means for UTF-8 and what Rust's char::is_whitespace tests), and everything else.
enum class CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };

CharClass ClassifySlow(uint32_t cp);  // any code point
extern const CharClass kAsciiClass[128];

inline CharClass Classify(uint32_t cp) { return cp < 128 ? kAsciiClass[cp] : ClassifySlow(cp); }
inline bool IsWhiteSpace(uint32_t cp) { return Classify(cp) == CharClass::kSpace; }

// Text after NFC plus, per output byte, the original byte range [first, second) it came from,
// reproducing HF `NormalizedString` alignments (unicode-normalization-alignments): output
// characters consume the input characters in order; a character built by composition is aligned
// with the first input character it consumed, one inserted by decomposition with the previous one.
struct AlignedText {
  std::string text;
  std::vector<std::pair<uint32_t, uint32_t>> align;  // one per byte of `text`, input byte offsets
};

// True when NFC leaves `s` unchanged and every alignment is the identity (checked per character
// with utf8proc data; false negatives are fine, they only cost the slow path).
bool NfcIsIdentity(std::string_view s);

// NFC of valid UTF-8 `s`, with alignments relative to s.
AlignedText NfcAligned(std::string_view s);

}  // namespace mbert::tok
