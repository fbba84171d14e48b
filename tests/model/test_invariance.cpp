// A sequence's output must not depend on what else is packed with it (design.md §2): the same
// sequence alone and packed between others gives bitwise-identical final hidden states at the
// same thread count.
#include <cstring>

#include "model/model.h"
#include "test_util.h"

namespace mbert {
namespace {

std::vector<int32_t> RandomIds(int n, uint32_t seed, int32_t vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  uint32_t s = seed;
  for (auto& id : ids) {
    s = s * 1664525u + 1013904223u;
    id = static_cast<int32_t>(5 + (s >> 8) % static_cast<uint32_t>(vocab - 5));
  }
  return ids;
}

TEST(Invariance, AloneEqualsPacked) {
  auto m = Model::Load(testing::TestDataDir() + "/tiny-mlm");
  ASSERT_TRUE(m.ok()) << m.status().message();
  const int32_t V = static_cast<int32_t>(m->config().vocab_size);
  const int64_t C = m->config().hidden_size;
  // Lengths around the local window (16 → W = 8) and a long one.
  const std::vector<int> lens = {1, 8, 9, 17, 33, 100};
  for (size_t target = 0; target < lens.size(); ++target) {
    std::vector<std::vector<int32_t>> seqs;
    for (size_t i = 0; i < lens.size(); ++i)
      seqs.push_back(RandomIds(lens[i], 17u + static_cast<uint32_t>(i), V));
    std::vector<float> alone, packed;
    ASSERT_TRUE(m->Forward(PackedBatch::FromSequences({seqs[target]}), &alone).ok());
    PackedBatch all = PackedBatch::FromSequences(seqs);
    ASSERT_TRUE(m->Forward(all, &packed).ok());
    const int64_t off = all.cu_seqlens[target] * C;
    ASSERT_EQ(alone.size(), static_cast<size_t>(lens[target] * C));
    EXPECT_EQ(0, std::memcmp(alone.data(), packed.data() + off, alone.size() * sizeof(float)))
        << "sequence " << target << " (length " << lens[target]
        << ") differs alone vs packed";
  }
}

}  // namespace
}  // namespace mbert
