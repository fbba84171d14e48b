// Embedding lookup and its gradient: exact copies forward; backward against the double reference
// (repeated ids, padding_idx, accumulation), against finite differences, and bitwise independence
// of the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "elem_test_util.h"
#include "ops/cpu/embedding.h"
#include "ops/ref/embedding.h"

namespace mbert::ops {
namespace {

using test_util::RandomFloats;
using test_util::ToDouble;

TEST(EmbeddingCpu, ForwardCopiesRows) {
  const int64_t V = 50, C = 37, N = 23;
  const std::vector<float> table = RandomFloats(V * C, 1);
  std::vector<int32_t> ids(N);
  for (int64_t n = 0; n < N; ++n) ids[n] = static_cast<int32_t>((n * 7 + 3) % V);
  ids[5] = 0;
  ids[6] = V - 1;
  std::vector<float> out(N * C, -1.0f);
  EmbeddingForward(table.data(), C, ids.data(), N, out.data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      ASSERT_EQ(out[n * C + c], table[ids[n] * C + c]) << n << "," << c;
}

std::vector<int32_t> RepeatedIds(int64_t N, int64_t V, int32_t padding_idx) {
  std::vector<int32_t> ids(N);
  for (int64_t n = 0; n < N; ++n) ids[n] = static_cast<int32_t>((n * n + 3) % V);
  ids[1] = ids[2] = ids[9] = 4;  // the same row several times
  ids[3] = ids[10] = padding_idx;
  return ids;
}

TEST(EmbeddingCpu, BackwardMatchesDoubleRef) {
  const int64_t V = 30, C = 130, N = 200;
  const int32_t pad = 7;
  const std::vector<int32_t> ids = RepeatedIds(N, V, pad);
  const std::vector<float> dout = RandomFloats(N * C, 2);
  std::vector<float> dtable = RandomFloats(V * C, 3);  // accumulated onto
  std::vector<double> dtable_ref = ToDouble(dtable);
  const std::vector<float> before = dtable;
  EmbeddingBackward(dout.data(), ids.data(), N, C, dtable.data(), pad);
  ref::EmbeddingBackward(ToDouble(dout).data(), ids.data(), N, C, dtable_ref.data(), pad);
  double worst = 0;
  for (size_t i = 0; i < dtable.size(); ++i) {
    // Sums of up to ~N/V fp32 terms of magnitude <= 1.
    worst = std::max(worst, std::fabs(dtable[i] - dtable_ref[i]));
    ASSERT_NEAR(dtable[i], dtable_ref[i], 1e-5) << i;
  }
  std::printf("[measured] embedding backward: max abs err %.3g\n", worst);
  // The padding row received nothing.
  for (int64_t c = 0; c < C; ++c) EXPECT_EQ(dtable[pad * C + c], before[pad * C + c]);
}

// d/dtable of L = sum(g * Embedding(table)) by finite differences in double, padding excluded.
TEST(EmbeddingRef, BackwardMatchesFiniteDifferences) {
  const int64_t V = 6, C = 3, N = 8;
  const int32_t pad = 2;
  const std::vector<int32_t> ids = {0, 1, 1, 2, 5, 2, 0, 3};
  const std::vector<double> table = ToDouble(RandomFloats(V * C, 4));
  const std::vector<double> g = ToDouble(RandomFloats(N * C, 5));
  auto loss = [&](const std::vector<double>& t) {
    std::vector<double> out(N * C);
    ref::EmbeddingForward(t.data(), C, ids.data(), N, out.data());
    double l = 0;
    for (int64_t i = 0; i < N * C; ++i) l += g[i] * out[i];
    return l;
  };
  std::vector<double> dt(V * C, 0.0);
  ref::EmbeddingBackward(g.data(), ids.data(), N, C, dt.data(), pad);
  for (int64_t i = 0; i < V * C; ++i) {
    auto tp = table, tm = table;
    tp[i] += 1e-6;
    tm[i] -= 1e-6;
    const double fd = (loss(tp) - loss(tm)) / 2e-6;
    if (i / C == pad) {
      EXPECT_EQ(dt[i], 0.0);  // nn.Embedding(padding_idx): no gradient even though it is used
      EXPECT_NE(fd, 0.0);
    } else {
      EXPECT_NEAR(dt[i], fd, 1e-8) << i;
    }
  }
}

TEST(EmbeddingCpu, BackwardThreadCountIndependent) {
  const int64_t V = 100, C = 768, N = 500;
  const std::vector<int32_t> ids = RepeatedIds(N, V, -1);
  const std::vector<float> dout = RandomFloats(N * C, 6);
  std::vector<float> d1(V * C, 0.0f), d2(V * C, 0.0f);
  test_util::WithThreads(1,
                         [&] { EmbeddingBackward(dout.data(), ids.data(), N, C, d1.data(), -1); });
  test_util::WithThreads(2,
                         [&] { EmbeddingBackward(dout.data(), ids.data(), N, C, d2.data(), -1); });
  EXPECT_EQ(d1, d2);
}

}  // namespace
}  // namespace mbert::ops
