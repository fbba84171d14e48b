// libFuzzer: Tokenizer::FromJsonString on arbitrary bytes returns a Status, never crashes; a
// tokenizer that loads can encode and decode a few fixed texts.
#include <cstdint>
#include <string_view>

#include "mbert/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto tok = mbert::Tokenizer::FromJsonString(json, "fuzz");
  if (!tok.ok()) return 0;
  for (const char* text : {"Hello world!", "a [MASK] b  c\n", "caf\xC3\xA9 e\xCC\x81 \xF0\x9F\x98\x80", ""}) {
    auto e = tok->Encode(text);
    if (e.ok()) (void)tok->Decode(e->ids);
    auto p = tok->EncodePair(text, "x y");
    (void)p;
  }
  return 0;
}
