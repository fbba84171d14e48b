// A sequence's output must not depend on what else is packed with it (design.md §2): the same
// sequence alone and packed between others gives the same result at every stage.
//
// Tolerance, not bitwise: oneDNN 2.6's gemm:jit (the GEMM behind every linear layer) handles
// M-tails with different micro-kernels, so the same row multiplied as part of an 8-row and of a
// 200-row matrix can differ in the last bit (measured with the Linear op alone). The differences
// this allows are ~1e-6 relative; any attention leaking across sequences, a wrong position
// restart or a window crossing a boundary changes outputs at the 1e-2..1 level. Our own kernels
// are bitwise packing-invariant (tests/ops/test_attention.cpp checks that exactly).
#include <cmath>
#include <cstring>

#include "model/encoder.h"
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
  auto m = Encoder::Load(testing::TestDataDir() + "/tiny-mlm");
  ASSERT_TRUE(m.ok()) << m.status().message();
  const int32_t V = static_cast<int32_t>(m->config().vocab_size);
  // Lengths around the local window (16 → W = 8) and a long one.
  const std::vector<int> lens = {1, 8, 9, 17, 33, 100};
  for (size_t target = 0; target < lens.size(); ++target) {
    std::vector<std::vector<int32_t>> seqs;
    for (size_t i = 0; i < lens.size(); ++i)
      seqs.push_back(RandomIds(lens[i], 17u + static_cast<uint32_t>(i), V));
    // Record every stage of both runs so a failure names the first stage that differs.
    std::vector<std::pair<std::string, std::vector<float>>> alone_taps, packed_taps;
    // Every stage of the forward, cut to the target sequence's rows [row0, row0 + len).
    auto recorder = [](auto* out, int64_t len, int64_t row0) {
      return [out, len, row0](const Stage& s) {
        const float* begin = s.data + row0 * s.cols;
        out->emplace_back(std::to_string(s.layer) + "." + s.name,
                          std::vector<float>(begin, begin + len * s.cols));
      };
    };
    PackedBatch all = PackedBatch::FromSequences(seqs);
    const int64_t len = lens[target], row0 = all.cu_seqlens[target];
    std::vector<float> alone, packed;
    ForwardContext alone_ctx, packed_ctx;
    alone_ctx.hook = recorder(&alone_taps, len, 0);
    packed_ctx.hook = recorder(&packed_taps, len, row0);
    ASSERT_TRUE(m->Forward(PackedBatch::FromSequences({seqs[target]}), alone_ctx, &alone).ok());
    ASSERT_TRUE(m->Forward(all, packed_ctx, &packed).ok());
    ASSERT_EQ(alone_taps.size(), packed_taps.size());
    for (size_t i = 0; i < alone_taps.size(); ++i) {
      const auto& a = alone_taps[i].second;
      const auto& p = packed_taps[i].second;
      double scale = 0.0;
      for (float v : a) scale = std::max(scale, static_cast<double>(std::fabs(v)));
      const auto r =
          testing::AllClose(p.data(), a.data(), static_cast<int64_t>(a.size()), 1e-5 * scale, 1e-5);
      if (!r.ok) {
        ADD_FAILURE() << "sequence " << target << " (length " << lens[target]
                      << ") differs alone vs packed, first at stage " << alone_taps[i].first
                      << ": max |diff| " << r.max_abs << " (max |value| " << scale << ")";
        break;
      }
    }
  }
}

}  // namespace
}  // namespace mbert
