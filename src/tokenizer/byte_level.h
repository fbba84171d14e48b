// GPT-2 byte <-> character table of the ByteLevel pre-tokenizer/decoder: printable bytes map to
// themselves, the other 68 bytes to U+0100 onwards in byte order (so ' ' is 'Ġ' U+0120).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mbert::tok {

struct ByteLevelTable {
  std::array<uint32_t, 256> byte_to_cp;
  std::array<std::string, 256> byte_to_utf8;  // byte_to_cp encoded
  // Code point -> byte, -1 when the code point is not one of the 256.
  int CpToByte(uint32_t cp) const { return cp < 324 ? cp_to_byte[cp] : -1; }
  std::array<int16_t, 324> cp_to_byte;
};

const ByteLevelTable& ByteLevel();

// Appends the byte-level spelling of `bytes` (each byte -> one character).
void AppendByteLevel(std::string_view bytes, std::string* out);

}  // namespace mbert::tok
