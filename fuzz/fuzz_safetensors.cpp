// libFuzzer target: the safetensors header parser and float conversion on arbitrary bytes.
// Any input must give either a parsed file or a Status error, never a crash or an out-of-bounds
// read (ASan checks the latter).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = mbert::SafetensorsFile::Parse(data, size, "fuzz.safetensors");
  if (!f.ok()) return 0;
  for (const mbert::TensorView& t : f->tensors()) {
    if (t.numel() > (1 << 20)) continue;
    std::vector<float> out(static_cast<size_t>(t.numel()));
    (void)mbert::ConvertToFloat(t, out.data(), "fuzz");
    (void)mbert::ReadInt32(t, "fuzz");
  }
  return 0;
}
