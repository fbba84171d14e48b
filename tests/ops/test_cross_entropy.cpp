// Cross-entropy (mean over non-ignored rows): the double reference gradient against finite
// differences, the fp32 kernel against the double reference (loss and dlogits) with strides,
// ignored rows, large logits, the vocabulary size of ModernBERT, aliasing and thread counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "elem_test_util.h"
#include "ops/cpu/cross_entropy.h"
#include "ops/ref/cross_entropy.h"

namespace mbert::ops {
namespace {

using test_util::MaxAbsErr;
using test_util::Nmse;
using test_util::RandomFloats;
using test_util::ToDouble;

TEST(CrossEntropyRef, GradientMatchesFiniteDifferences) {
  const int64_t rows = 4, V = 9, ld = 11;
  const std::vector<int32_t> labels = {3, -100, 0, 8};
  const std::vector<double> logits = ToDouble(RandomFloats(rows * ld, 1, -4, 4));
  std::vector<double> d(rows * ld, 7.0);
  ref::CrossEntropyForwardBackward(logits.data(), ld, labels.data(), rows, V, d.data(), ld);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t v = 0; v < V; ++v) {
      auto lp = logits, lm = logits;
      lp[r * ld + v] += 1e-6;
      lm[r * ld + v] -= 1e-6;
      const double fd = (ref::CrossEntropyForwardBackward<double>(lp.data(), ld, labels.data(),
                                                                  rows, V, nullptr, 0) -
                         ref::CrossEntropyForwardBackward<double>(lm.data(), ld, labels.data(),
                                                                  rows, V, nullptr, 0)) /
                        2e-6;
      EXPECT_NEAR(d[r * ld + v], fd, 1e-8) << r << "," << v;
    }
  }
  // Loss of a single row = logsumexp - target logit.
  const std::vector<double> one = {1.0, 2.0, 3.0};
  const int32_t lab = 1;
  const double want = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 2.0;
  EXPECT_NEAR(ref::CrossEntropyForwardBackward<double>(one.data(), 3, &lab, 1, 3, nullptr, 0), want,
              1e-14);
}

struct Case {
  int64_t rows, V, ldl, lddl;
  float spread;  // logits uniform in [-spread, spread]
};

class CrossEntropyCpu : public ::testing::TestWithParam<Case> {};

TEST_P(CrossEntropyCpu, MatchesDoubleRef) {
  const auto [rows, V, ldl, lddl, spread] = GetParam();
  const std::vector<float> logits = RandomFloats(rows * ldl, 11, -spread, spread);
  std::vector<int32_t> labels(rows);
  for (int64_t r = 0; r < rows; ++r) labels[r] = static_cast<int32_t>((r * 7919) % V);
  if (rows > 2) labels[1] = -100;
  if (rows > 5) labels[5] = -100;
  std::vector<float> d(rows * lddl, 3.0f);
  const float loss =
      CrossEntropyForwardBackward(logits.data(), ldl, labels.data(), rows, V, d.data(), lddl);
  std::vector<double> dd(rows * lddl, 3.0);
  const double want = ref::CrossEntropyForwardBackward(ToDouble(logits).data(), ldl, labels.data(),
                                                       rows, V, dd.data(), lddl);
  const double rel = std::fabs(loss - want) / std::fabs(want);
  const double nmse = Nmse(d.data(), dd.data(), d.size());
  std::printf(
      "[measured] rows %ld V %ld spread %g: loss rel err %.3g, dlogits NMSE %.3g, max abs %.3g\n",
      long(rows), long(V), spread, rel, nmse, MaxAbsErr(d.data(), dd.data(), d.size()));
  EXPECT_LE(rel, 1e-6);
  EXPECT_LE(nmse, 1e-11);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t v = 0; v < V; ++v) {
      // Softmax entries: relative accuracy of the exp (a few ulp) scaled by 1/count.
      const double ref = dd[r * lddl + v];
      ASSERT_NEAR(d[r * lddl + v], ref, 2e-6 * std::fabs(ref) + 1e-12) << r << "," << v;
    }
    for (int64_t v = V; v < lddl; ++v) ASSERT_EQ(d[r * lddl + v], 3.0f);  // stride padding kept
  }
  // No gradient requested: same loss.
  EXPECT_EQ(CrossEntropyForwardBackward(logits.data(), ldl, labels.data(), rows, V, nullptr, 0),
            loss);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CrossEntropyCpu,
                         ::testing::Values(Case{1, 5, 5, 5, 3.0f}, Case{7, 37, 40, 41, 10.0f},
                                           Case{64, 1000, 1000, 1000, 80.0f},
                                           Case{3, 50368, 50368, 50368, 20.0f},
                                           Case{40, 129, 130, 129, 1.0f}));

TEST(CrossEntropyCpu, AllIgnoredGivesZero) {
  const std::vector<float> logits = RandomFloats(3 * 4, 2);
  const std::vector<int32_t> labels = {-100, -100, -100};
  std::vector<float> d(12, 5.0f);
  EXPECT_EQ(CrossEntropyForwardBackward(logits.data(), 4, labels.data(), 3, 4, d.data(), 4), 0.0f);
  for (float v : d) EXPECT_EQ(v, 0.0f);
}

TEST(CrossEntropyCpu, InPlaceAndThreadCountIndependent) {
  const int64_t rows = 300, V = 333;
  const std::vector<float> logits = RandomFloats(rows * V, 3, -6, 6);
  std::vector<int32_t> labels(rows);
  for (int64_t r = 0; r < rows; ++r) labels[r] = r % 4 == 0 ? -100 : static_cast<int32_t>(r % V);
  std::vector<float> d1(rows * V), d2 = logits;
  float l1 = 0, l2 = 0, l3 = 0;
  test_util::WithThreads(2, [&] {
    l1 = CrossEntropyForwardBackward(logits.data(), V, labels.data(), rows, V, d1.data(), V);
    l2 = CrossEntropyForwardBackward(d2.data(), V, labels.data(), rows, V, d2.data(), V);
  });
  test_util::WithThreads(1, [&] {
    std::vector<float> d3(rows * V);
    l3 = CrossEntropyForwardBackward(logits.data(), V, labels.data(), rows, V, d3.data(), V);
    EXPECT_EQ(d3, d1);  // per-row work does not depend on the split
  });
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(d1, d2);
  // The loss sums per-thread partials in double: equal to fp32 rounding across thread counts.
  EXPECT_NEAR(l1, l3, 1e-6 * std::fabs(l1));
}

// Accuracy counted inside the fused op equals a separate first-maximum argmax, ties included,
// with and without a gradient buffer aliasing the logits.
TEST(CrossEntropyCpu, CountsCorrectLikeArgmax) {
  const int64_t rows = 300, V = 97;
  std::vector<float> logits = RandomFloats(rows * V, 5, -2.0f, 2.0f);
  std::vector<int32_t> labels(rows);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = logits.data() + r * V;
    const int64_t top = std::max_element(row, row + V) - row;
    switch (r % 5) {
      case 0:
        labels[r] = static_cast<int32_t>(top);
        break;  // correct
      case 1:
        labels[r] = static_cast<int32_t>((top + 1) % V);
        break;  // wrong
      case 2:   // tie, label first: correct
        labels[r] = static_cast<int32_t>(top / 2);
        row[top / 2] = row[top];
        break;
      case 3:  // tie, an earlier column also holds the maximum: wrong
        labels[r] = static_cast<int32_t>(top);
        if (top > 0)
          row[0] = row[top];
        else
          labels[r] = 1, row[1] = row[0];
        break;
      default:
        labels[r] = -100;  // ignored
    }
  }
  int64_t want = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (labels[r] < 0) continue;
    const float* row = logits.data() + r * V;
    want += (std::max_element(row, row + V) - row) == labels[r];
  }
  EXPECT_EQ(want, 2 * rows / 5);
  int64_t got = -1;
  CrossEntropyForwardBackward(logits.data(), V, labels.data(), rows, V, nullptr, 0, -100, &got);
  EXPECT_EQ(got, want);
  got = -1;
  CrossEntropyForwardBackward(logits.data(), V, labels.data(), rows, V, logits.data(), V, -100,
                              &got);
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace mbert::ops
