// libFuzzer target: the corpus readers on arbitrary bytes. The first byte chooses the parser:
//   even: ParseShard (the .mbshard format, with content verification) on the remaining bytes;
//   odd:  the remaining bytes as JSON for Manifest::FromJson, Mixture::FromJson and
//         SamplerState::FromJson.
// Any input must give a value that is consistent with itself or a Status error; never a crash,
// an out-of-range read (ASan) or undefined behaviour (UBSan).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "corpus/manifest.h"
#include "corpus/mixture.h"
#include "corpus/sampler.h"
#include "corpus/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  if ((data[0] & 1) == 0) {
    // The reader needs 8-byte alignment (an mmap gives it); copy into aligned storage.
    std::vector<uint64_t> buf((n + 7) / 8 + 1);
    std::memcpy(buf.data(), body, n);
    auto v = mbert::corpus::ParseShard(reinterpret_cast<const uint8_t*>(buf.data()), n,
                                       "fuzz.mbshard", /*verify_content=*/true);
    if (!v.ok()) return 0;
    uint64_t total = 0;
    for (uint64_t d = 0; d < v->documents; ++d) {
      auto doc = v->Document(d);
      for (uint32_t id : doc)
        if (id >= v->vocab_size) std::abort();  // verified, yet an id beyond the vocabulary
      total += doc.size();
    }
    if (total != v->tokens) std::abort();
    return 0;
  }
  nlohmann::json j = nlohmann::json::parse(body, body + n, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto m = mbert::corpus::Manifest::FromJson(j, "fuzz/manifest.json");
  if (m.ok() && !mbert::corpus::Manifest::FromJson(m->ToJson(), "round trip").ok()) std::abort();
  (void)mbert::corpus::Mixture::FromJson(j, "fuzz/mixture.json");
  auto s = mbert::corpus::SamplerState::FromJson(j, "fuzz/state.json");
  if (s.ok() && !mbert::corpus::SamplerState::FromJson(s->ToJson(), "round trip").ok())
    std::abort();
  return 0;
}
