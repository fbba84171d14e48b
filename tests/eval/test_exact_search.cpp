// Exact search against brute force in double: the same top-k sets and order (scores compared at
// fp32 GEMM precision), ties by document index, blocks of every size giving the same answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "eval/exact_search.h"
#include "eval/majority.h"

namespace mbert::eval {
namespace {

std::vector<float> Random(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(g);
  return v;
}

double Dot(const float* a, const float* b, int64_t dim, bool cosine) {
  double s = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < dim; ++i) {
    s += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return cosine ? s / std::sqrt(na * nb) : s;
}

TEST(ExactSearch, DenseMatchesBruteForceInEveryBlocking) {
  const int64_t Q = 7, N = 301, D = 24;
  const std::vector<float> q = Random(Q * D, 1), c = Random(N * D, 2);
  for (Similarity sim : {Similarity::kDot, Similarity::kCosine}) {
    const bool cosine = sim == Similarity::kCosine;
    for (int64_t block : {1, 64, 300, 4096}) {
      const auto hits = DenseTopK(q.data(), Q, c.data(), N, D, 10, sim, block);
      ASSERT_EQ(hits.size(), static_cast<size_t>(Q));
      for (int64_t i = 0; i < Q; ++i) {
        std::vector<std::pair<double, int64_t>> all;
        for (int64_t d = 0; d < N; ++d)
          all.push_back({-Dot(q.data() + i * D, c.data() + d * D, D, cosine), d});
        std::sort(all.begin(), all.end());
        ASSERT_EQ(hits[i].size(), 10u);
        for (size_t r = 0; r < 10; ++r) {
          EXPECT_EQ(hits[i][r].doc, all[r].second) << "query " << i << " rank " << r;
          EXPECT_NEAR(hits[i][r].score, -all[r].first, 1e-4);
        }
      }
    }
  }
}

TEST(ExactSearch, TiesByIndexAndKBeyondCorpus) {
  // Documents 0, 2 and 3 are the same vector: they tie and come in index order.
  const std::vector<float> c = {1, 0, 0, 1, 1, 0, 1, 0};
  const std::vector<float> q = {1, 0};
  const auto hits = DenseTopK(q.data(), 1, c.data(), 4, 2, 10, Similarity::kDot);
  ASSERT_EQ(hits[0].size(), 4u);
  EXPECT_EQ(hits[0][0].doc, 0);
  EXPECT_EQ(hits[0][1].doc, 2);
  EXPECT_EQ(hits[0][2].doc, 3);
  EXPECT_EQ(hits[0][3].doc, 1);
  const eval::Run run = AsRun(hits, {"q"}, {"a", "b", "c", "d"});
  EXPECT_DOUBLE_EQ(run.at("q").at("b"), 0.0);
}

TEST(ExactSearch, MaxSimMatchesBruteForce) {
  const int64_t D = 16, Lq = 5;
  std::mt19937 g(3);
  std::vector<int64_t> offsets = {0};
  for (int d = 0; d < 40; ++d)
    offsets.push_back(offsets.back() + 1 + static_cast<int64_t>(g() % 9));
  const std::vector<float> toks = Random(offsets.back() * D, 4), q = Random(Lq * D, 5);
  std::vector<std::pair<double, int64_t>> want;
  for (int64_t d = 0; d + 1 < static_cast<int64_t>(offsets.size()); ++d) {
    double total = 0;
    for (int64_t i = 0; i < Lq; ++i) {
      double best = -1e300;
      for (int64_t t = offsets[d]; t < offsets[d + 1]; ++t)
        best = std::max(best, Dot(q.data() + i * D, toks.data() + t * D, D, false));
      total += best;
    }
    want.push_back({-total, d});
  }
  std::sort(want.begin(), want.end());
  for (int64_t block : {1, 17, 100000}) {
    const auto hits = MaxSimTopK(q.data(), Lq, toks.data(), offsets, D, 8, block);
    ASSERT_EQ(hits.size(), 8u);
    for (size_t r = 0; r < 8; ++r) {
      EXPECT_EQ(hits[r].doc, want[r].second) << "block " << block << " rank " << r;
      EXPECT_NEAR(hits[r].score, -want[r].first, 1e-4);
    }
  }
}

TEST(Baselines, MajorityClassTiesToSmallestId) {
  EXPECT_EQ(MajorityClass({1, 0, 1, 2, 1}), 1);
  EXPECT_EQ(MajorityClass({2, 0, 2, 0}), 0);
  EXPECT_EQ(MajorityClass({}), -1);
}

}  // namespace
}  // namespace mbert::eval
