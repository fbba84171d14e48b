// UTF-8 helpers shared by the tokenizer stages: validation with a precise error, decoding one code
// point, lossy decoding with Rust's `String::from_utf8_lossy` policy, byte -> code point offsets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mbert/status.h"

namespace mbert::tok {

// Returns the byte offset of the first ill-formed sequence (Unicode Table 3-7), or npos.
size_t FindInvalidUtf8(std::string_view s);

// Error status naming `what` and the byte offset when `s` is not valid UTF-8.
Status ValidateUtf8(std::string_view s, std::string_view what);

// Decodes the code point at s[i] of a *valid* UTF-8 string; sets *len to its byte length.
inline uint32_t DecodeAt(std::string_view s, size_t i, int* len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  const unsigned char b = p[0];
  if (b < 0x80) {
    *len = 1;
    return b;
  }
  if (b < 0xE0) {
    *len = 2;
    return ((b & 0x1Fu) << 6) | (p[1] & 0x3Fu);
  }
  if (b < 0xF0) {
    *len = 3;
    return ((b & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
  }
  *len = 4;
  return ((b & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
}

inline bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

void AppendUtf8(uint32_t cp, std::string* out);

// Bytes -> text replacing every maximal ill-formed subpart by U+FFFD, exactly as Rust's
// `String::from_utf8_lossy` (which HF's ByteLevel decoder uses).
std::string Utf8Lossy(std::string_view bytes);

// True when every byte is < 0x80.
bool IsAscii(std::string_view s);

// Maps byte offsets of a valid UTF-8 string to code point offsets. Cheap when the text is ASCII.
class CharOffsets {
 public:
  explicit CharOffsets(std::string_view s);
  // Code point index of the character that starts at (or contains) byte `b`; b == size -> count.
  uint32_t operator()(size_t b) const { return ascii_ ? static_cast<uint32_t>(b) : map_[b]; }

 private:
  bool ascii_ = true;
  std::vector<uint32_t> map_;
};

}  // namespace mbert::tok
