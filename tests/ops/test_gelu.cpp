// Exact-erf GELU and GeGLU: the double reference derivatives against finite differences, and the
// vectorised fp32 kernels (own erfc/exp) against the double reference over the whole fp32 range
// that matters, including the far negative tail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "elem_test_util.h"
#include "ops/cpu/gelu.h"
#include "ops/ref/gelu.h"

namespace mbert::ops {
namespace {

using test_util::MaxRelErr;
using test_util::RandomFloats;
using test_util::ToDouble;

// A dense grid over [-14, 14] plus values near 0 and the tails' edges.
std::vector<float> GeluInputs() {
  std::vector<float> x;
  for (int i = -140000; i <= 140000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);
  for (float v : {1e-30f, -1e-30f, 1e-7f, -1e-7f, 0.0f, -0.0f, 20.0f, -20.0f, 50.0f, -50.0f})
    x.push_back(v);
  return x;
}

TEST(GeluRef, GradMatchesFiniteDifferences) {
  for (double x = -6.0; x <= 6.0; x += 0.173) {
    const double h = 1e-6;
    const double fd = (ref::Gelu(x + h) - ref::Gelu(x - h)) / (2 * h);
    EXPECT_NEAR(ref::GeluGrad(x), fd, 1e-8) << x;
  }
  // Known values of the exact-erf GELU (not the tanh approximation): gelu(1) = Phi(1).
  EXPECT_NEAR(ref::Gelu(1.0), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(ref::Gelu(-1.0), -0.15865525393145707, 1e-15);
}

TEST(GeluRef, GegluBackwardMatchesFiniteDifferences) {
  const int64_t N = 3, I = 5;
  const std::vector<double> u = ToDouble(RandomFloats(N * 2 * I, 1, -3, 3));
  const std::vector<double> g = ToDouble(RandomFloats(N * I, 2));
  auto loss = [&](const std::vector<double>& uu) {
    std::vector<double> y(N * I);
    ref::GegluForward(uu.data(), y.data(), N, I);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += g[i] * y[i];
    return l;
  };
  std::vector<double> du(N * 2 * I);
  ref::GegluBackward(u.data(), g.data(), du.data(), N, I);
  const double h = 1e-6;
  for (size_t i = 0; i < u.size(); ++i) {
    auto up = u, um = u;
    up[i] += h;
    um[i] -= h;
    const double fd = (loss(up) - loss(um)) / (2 * h);
    EXPECT_NEAR(du[i], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << i;
  }
}

// Relative error <= 1e-5 wherever the result is a normal float above 1e-30 (x > about -11); below
// that the function is < 1e-30 and only an absolute 1e-30 is asked for.
TEST(GeluCpu, ForwardMatchesDoubleRef) {
  const std::vector<float> x = GeluInputs();
  std::vector<float> y(x.size());
  GeluForward(x.data(), y.data(), static_cast<int64_t>(x.size()));
  std::vector<double> yd(x.size());
  ref::GeluForward(ToDouble(x).data(), yd.data(), static_cast<int64_t>(x.size()));
  double worst = 0, worst_x = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double err = std::fabs(y[i] - yd[i]);
    const double rel = err / std::max(std::fabs(yd[i]), 1e-30);
    if (rel > worst) {
      worst = rel;
      worst_x = x[i];
    }
    ASSERT_LE(rel, 1e-5) << "x=" << x[i] << " got " << y[i] << " want " << yd[i];
  }
  std::printf("[measured] gelu forward: max rel err %.3g at x=%g\n", worst, worst_x);
  // In place (y aliases x).
  std::vector<float> z = x;
  GeluForward(z.data(), z.data(), static_cast<int64_t>(z.size()));
  EXPECT_EQ(z, y);
}

TEST(GeluCpu, BackwardMatchesDoubleRef) {
  const std::vector<float> x = GeluInputs();
  const std::vector<float> dy = RandomFloats(x.size(), 5, 0.5f, 2.0f);
  std::vector<float> dx(x.size());
  GeluBackward(x.data(), dy.data(), dx.data(), static_cast<int64_t>(x.size()));
  std::vector<double> dxd(x.size());
  ref::GeluBackward(ToDouble(x).data(), ToDouble(dy).data(), dxd.data(),
                    static_cast<int64_t>(x.size()));
  // gelu'(x) = Phi(x) + x phi(x) crosses zero near x = -0.75: the two terms cancel there, so the
  // error is relative to the larger term (|Phi| ~ 0.23) rather than to the result.
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double scale = std::max(std::fabs(dxd[i]), 1e-30) +
                         (std::fabs(x[i]) < 2.0f ? 0.25 * std::fabs(dy[i]) : 0.0);
    const double rel = std::fabs(dx[i] - dxd[i]) / scale;
    worst = std::max(worst, rel);
    ASSERT_LE(rel, 1e-5) << "x=" << x[i] << " got " << dx[i] << " want " << dxd[i];
  }
  std::printf("[measured] gelu backward: max scaled rel err %.3g\n", worst);
  const double rel = MaxRelErr(dx.data(), dxd.data(), dx.size(), 1e-2);
  std::printf("[measured] gelu backward: max rel err (floor 1e-2) %.3g\n", rel);
  // In place (dx aliases dy).
  std::vector<float> g = dy;
  GeluBackward(x.data(), g.data(), g.data(), static_cast<int64_t>(g.size()));
  EXPECT_EQ(g, dx);
}

// Odd I = 37 exercises the vector remainder; I = 1152 is ModernBERT-base.
TEST(GegluCpu, ForwardBackwardMatchDoubleRef) {
  for (int64_t I : {37, 1152}) {
    const int64_t N = 9;
    const std::vector<float> u = RandomFloats(N * 2 * I, 7, -5, 5);
    const std::vector<float> dy = RandomFloats(N * I, 8);
    std::vector<float> y(N * I), du(N * 2 * I);
    GegluForward(u.data(), y.data(), N, I);
    GegluBackward(u.data(), dy.data(), du.data(), N, I);
    const std::vector<double> ud = ToDouble(u), dyd = ToDouble(dy);
    std::vector<double> yd(N * I), dud(N * 2 * I);
    ref::GegluForward(ud.data(), yd.data(), N, I);
    ref::GegluBackward(ud.data(), dyd.data(), dud.data(), N, I);
    // Products of two factors each within a few ulp: relative 1e-5 with a floor for values that
    // are tiny because gate or dy is.
    const double ey = MaxRelErr(y.data(), yd.data(), y.size(), 1e-6);
    double edu = 0;
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t i = 0; i < I; ++i) {
        const double in = ud[n * 2 * I + i], gate = ud[n * 2 * I + I + i], g = dyd[n * I + i];
        // d input = g * gate * (Phi + x phi): scale by the larger of its two terms.
        const double s_in = std::fabs(g * gate) * (std::fabs(ref::GeluGrad(in)) + 0.25) + 1e-6;
        edu = std::max(edu, std::fabs(du[n * 2 * I + i] - dud[n * 2 * I + i]) / s_in);
        const double s_gate = std::max(std::fabs(dud[n * 2 * I + I + i]), 1e-6);
        edu = std::max(edu, std::fabs(du[n * 2 * I + I + i] - dud[n * 2 * I + I + i]) / s_gate);
      }
    }
    std::printf("[measured] geglu I=%ld: forward max rel %.3g, backward max scaled rel %.3g\n",
                long(I), ey, edu);
    EXPECT_LE(ey, 1e-5);
    EXPECT_LE(edu, 1e-5);
  }
}

}  // namespace
}  // namespace mbert::ops
