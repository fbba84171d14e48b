#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "batch/rng.h"

namespace mbert {
namespace {

TEST(Rng, SeededAndRestorable) {
  Rng a(42), b(42), c(43);
  std::vector<uint64_t> xa, xc;
  for (int i = 0; i < 8; ++i) {
    xa.push_back(a.NextU64());
    xc.push_back(c.NextU64());
    EXPECT_EQ(xa.back(), b.NextU64());
  }
  EXPECT_NE(xa, xc);
  const Rng::State saved = a.state();
  const double u1 = a.Uniform(), u2 = a.Uniform();
  Rng d(0);
  d.set_state(saved);
  EXPECT_EQ(d.Uniform(), u1);
  EXPECT_EQ(d.Uniform(), u2);
}

TEST(Rng, StreamsDependOnName) {
  Rng a = Rng::ForStream(7, "model.layers.0.attn.Wqkv.weight");
  Rng b = Rng::ForStream(7, "model.layers.0.attn.Wo.weight");
  Rng c = Rng::ForStream(7, "model.layers.0.attn.Wqkv.weight");
  const uint64_t xa = a.NextU64();
  EXPECT_NE(xa, b.NextU64());
  EXPECT_EQ(xa, c.NextU64());
}

TEST(Rng, DistributionMoments) {
  Rng r(1);
  const int n = 200000;
  double s = 0, s2 = 0, ns = 0, ns2 = 0, pa = 0, pa2 = 0, pb2 = 0, pab = 0;
  std::vector<int> hist(7, 0);
  for (int i = 0; i < n; ++i) {
    const double u = r.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    s += u;
    s2 += u * u;
    const double z = r.Normal();
    ns += z;
    ns2 += z * z;
    ++hist[r.UniformInt(7)];
    double a, b;
    r.NormalPair(&a, &b);
    pa += a;
    pa2 += a * a;
    pb2 += b * b;
    pab += a * b;
  }
  // The pair: unit variances, zero mean, uncorrelated (sd of each estimate ~ 0.003).
  EXPECT_NEAR(pa / n, 0.0, 0.012);
  EXPECT_NEAR(pa2 / n, 1.0, 0.02);
  EXPECT_NEAR(pb2 / n, 1.0, 0.02);
  EXPECT_NEAR(pab / n, 0.0, 0.012);
  // Standard errors: uniform mean 0.00065, normal mean 0.0022, variance 0.0032.
  EXPECT_NEAR(s / n, 0.5, 0.004);
  EXPECT_NEAR(s2 / n - (s / n) * (s / n), 1.0 / 12, 0.002);
  EXPECT_NEAR(ns / n, 0.0, 0.012);
  EXPECT_NEAR(ns2 / n, 1.0, 0.02);
  // Each of 7 bins expects n/7 = 28571 (sd ~157).
  for (int h : hist) EXPECT_NEAR(h, n / 7.0, 1000.0);
}

}  // namespace
}  // namespace mbert
