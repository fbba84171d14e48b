#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace mbert::tok {
namespace {

ByteLevelTable Build() {
  ByteLevelTable t;
  t.cp_to_byte.fill(-1);
  // Bytes kept as themselves: '!'..'~', U+00A1..U+00AC, U+00AE..U+00FF (GPT-2 bytes_to_unicode).
  auto kept = [](int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
  };
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = kept(b) ? static_cast<uint32_t>(b) : next++;
    t.byte_to_cp[static_cast<size_t>(b)] = cp;
    t.cp_to_byte[cp] = static_cast<int16_t>(b);
    AppendUtf8(cp, &t.byte_to_utf8[static_cast<size_t>(b)]);
  }
  return t;
}

}  // namespace

const ByteLevelTable& ByteLevel() {
  static const ByteLevelTable table = Build();
  return table;
}

void AppendByteLevel(std::string_view bytes, std::string* out) {
  const ByteLevelTable& t = ByteLevel();
  for (unsigned char b : bytes) out->append(t.byte_to_utf8[b]);
}

}  // namespace mbert::tok
