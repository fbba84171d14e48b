// LayerNorm (no bias): double reference vs central finite differences, fp32 kernels vs the double
// reference with non-trivial strides, fused add+norm, dx aliasing dy, dweight accumulation and
// thread-count independence.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "elem_test_util.h"
#include "ops/cpu/layer_norm.h"
#include "ops/ref/layer_norm.h"

namespace mbert::ops {
namespace {

using test_util::MaxAbsErr;
using test_util::Nmse;
using test_util::RandomFloats;
using test_util::ToDouble;

// L = sum(g * LayerNorm(x)): the analytic dx, dw of the reference backward against central finite
// differences, everything in double, with strides ldx != ldy != cols.
TEST(LayerNormRef, BackwardMatchesFiniteDifferences) {
  const int64_t rows = 3, cols = 7, ldx = 9, ldy = 10, lddx = 11;
  const double eps = 1e-5;
  std::vector<double> x = ToDouble(RandomFloats(rows * ldx, 1, -2, 2));
  std::vector<double> w = ToDouble(RandomFloats(cols, 2, 0.5, 1.5));
  std::vector<double> g = ToDouble(RandomFloats(rows * ldy, 3));
  auto loss = [&](const std::vector<double>& xx, const std::vector<double>& ww) {
    std::vector<double> y(rows * ldy, 0.0);
    ref::LayerNormForward(xx.data(), ldx, ww.data(), y.data(), ldy, rows, cols, eps,
                          static_cast<double*>(nullptr), static_cast<double*>(nullptr));
    double l = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) l += g[r * ldy + c] * y[r * ldy + c];
    return l;
  };
  std::vector<double> y(rows * ldy), mean(rows), rstd(rows), dx(rows * lddx), dw(cols, 0.0);
  ref::LayerNormForward(x.data(), ldx, w.data(), y.data(), ldy, rows, cols, eps, mean.data(),
                        rstd.data());
  ref::LayerNormBackward(x.data(), ldx, w.data(), mean.data(), rstd.data(), g.data(), ldy,
                         dx.data(), lddx, dw.data(), rows, cols);
  const double h = 1e-6;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      auto xp = x, xm = x;
      xp[r * ldx + c] += h;
      xm[r * ldx + c] -= h;
      const double fd = (loss(xp, w) - loss(xm, w)) / (2 * h);
      EXPECT_NEAR(dx[r * lddx + c], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << r << "," << c;
    }
  }
  for (int64_t c = 0; c < cols; ++c) {
    auto wp = w, wm = w;
    wp[c] += h;
    wm[c] -= h;
    const double fd = (loss(x, wp) - loss(x, wm)) / (2 * h);
    EXPECT_NEAR(dw[c], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << c;
  }
}

struct Case {
  int64_t rows, cols, ldx, ldy;
};

class LayerNormCpu : public ::testing::TestWithParam<Case> {};

TEST_P(LayerNormCpu, ForwardMatchesDoubleRef) {
  const auto [rows, cols, ldx, ldy] = GetParam();
  // An offset mean and a spread of scales exercise the two-pass moments.
  std::vector<float> x = RandomFloats(rows * ldx, 11, -3, 5);
  const std::vector<float> w = RandomFloats(cols, 12, -1.5, 1.5);
  std::vector<float> y(rows * ldy, 0.0f), mean(rows), rstd(rows);
  LayerNormForward(x.data(), ldx, w.data(), y.data(), ldy, rows, cols, 1e-5f, mean.data(),
                   rstd.data());
  const std::vector<double> xd = ToDouble(x), wd = ToDouble(w);
  std::vector<double> yd(rows * ldy, 0.0), md(rows), rd(rows);
  ref::LayerNormForward(xd.data(), ldx, wd.data(), yd.data(), ldy, rows, cols, 1e-5, md.data(),
                        rd.data());
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_LE(MaxAbsErr(y.data() + r * ldy, yd.data() + r * ldy, cols), 1e-5) << "row " << r;
    EXPECT_NEAR(mean[r], md[r], 1e-6 * std::fabs(md[r]) + 1e-7);
    EXPECT_NEAR(rstd[r], rd[r], 1e-6 * rd[r]);
  }
  const double nmse = Nmse(y.data(), yd.data(), y.size());
  std::printf("[measured] forward (%ld x %ld): max abs err %.3g, NMSE %.3g\n", long(rows),
              long(cols), MaxAbsErr(y.data(), yd.data(), y.size()), nmse);
  EXPECT_LE(nmse, 1e-12);
  // Stride padding beyond cols is untouched.
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = cols; c < ldy; ++c) EXPECT_EQ(y[r * ldy + c], 0.0f);
}

TEST_P(LayerNormCpu, BackwardMatchesDoubleRef) {
  const auto [rows, cols, ldx, ldy] = GetParam();
  const int64_t lddy = ldy, lddx = ldx + 3;
  const std::vector<float> x = RandomFloats(rows * ldx, 21, -3, 5);
  const std::vector<float> w = RandomFloats(cols, 22, -1.5, 1.5);
  const std::vector<float> dy = RandomFloats(rows * lddy, 23);
  std::vector<float> y(rows * ldy), mean(rows), rstd(rows), dx(rows * lddx, 0.0f);
  LayerNormForward(x.data(), ldx, w.data(), y.data(), ldy, rows, cols, 1e-5f, mean.data(),
                   rstd.data());
  // dweight accumulates onto what is already there.
  std::vector<float> dw = RandomFloats(cols, 24);
  std::vector<double> dwd = ToDouble(dw);
  LayerNormBackward(x.data(), ldx, w.data(), mean.data(), rstd.data(), dy.data(), lddy, dx.data(),
                    lddx, dw.data(), rows, cols);
  const std::vector<double> xd = ToDouble(x), wd = ToDouble(w), dyd = ToDouble(dy);
  std::vector<double> yd(rows * ldy), md(rows), rd(rows), dxd(rows * lddx, 0.0);
  ref::LayerNormForward(xd.data(), ldx, wd.data(), yd.data(), ldy, rows, cols, 1e-5, md.data(),
                        rd.data());
  ref::LayerNormBackward(xd.data(), ldx, wd.data(), md.data(), rd.data(), dyd.data(), lddy,
                         dxd.data(), lddx, dwd.data(), rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const double scale = rd[r];  // dx is O(rstd * |dy * w|)
    EXPECT_LE(MaxAbsErr(dx.data() + r * lddx, dxd.data() + r * lddx, cols), 2e-5 * scale)
        << "row " << r;
  }
  const double nmse_dx = Nmse(dx.data(), dxd.data(), dx.size());
  const double nmse_dw = Nmse(dw.data(), dwd.data(), dw.size());
  std::printf("[measured] backward (%ld x %ld): dx NMSE %.3g, dweight NMSE %.3g\n", long(rows),
              long(cols), nmse_dx, nmse_dw);
  EXPECT_LE(nmse_dx, 1e-11);
  EXPECT_LE(nmse_dw, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LayerNormCpu,
                         ::testing::Values(Case{1, 768, 768, 768}, Case{37, 768, 800, 770},
                                           Case{5, 37, 41, 39}, Case{300, 64, 64, 64},
                                           Case{2, 1024, 1024, 1030}, Case{5000, 64, 64, 64}));

TEST(LayerNormCpu, BackwardInPlaceOverDy) {
  const int64_t rows = 9, cols = 130;
  const std::vector<float> x = RandomFloats(rows * cols, 31, -2, 2);
  const std::vector<float> w = RandomFloats(cols, 32);
  std::vector<float> y(rows * cols), mean(rows), rstd(rows);
  LayerNormForward(x.data(), cols, w.data(), y.data(), cols, rows, cols, 1e-5f, mean.data(),
                   rstd.data());
  std::vector<float> dy = RandomFloats(rows * cols, 33), dx(rows * cols), dw1(cols), dw2(cols);
  LayerNormBackward(x.data(), cols, w.data(), mean.data(), rstd.data(), dy.data(), cols, dx.data(),
                    cols, dw1.data(), rows, cols);
  LayerNormBackward(x.data(), cols, w.data(), mean.data(), rstd.data(), dy.data(), cols, dy.data(),
                    cols, dw2.data(), rows, cols);
  EXPECT_EQ(std::memcmp(dx.data(), dy.data(), dx.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(dw1.data(), dw2.data(), dw1.size() * sizeof(float)), 0);
}

TEST(LayerNormCpu, AddLayerNormEqualsAddThenNorm) {
  const int64_t rows = 70, cols = 768;
  std::vector<float> x = RandomFloats(rows * cols, 41, -2, 2);
  const std::vector<float> delta = RandomFloats(rows * cols, 42, -2, 2);
  const std::vector<float> w = RandomFloats(cols, 43);
  std::vector<float> sum(rows * cols);
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = x[i] + delta[i];
  std::vector<float> y1(rows * cols), y2(rows * cols), m1(rows), m2(rows), r1(rows), r2(rows);
  LayerNormForward(sum.data(), cols, w.data(), y1.data(), cols, rows, cols, 1e-5f, m1.data(),
                   r1.data());
  AddLayerNormForward(x.data(), delta.data(), w.data(), y2.data(), rows, cols, 1e-5f, m2.data(),
                      r2.data());
  EXPECT_EQ(std::memcmp(x.data(), sum.data(), x.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(m1.data(), m2.data(), m1.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(r1.data(), r2.data(), r1.size() * sizeof(float)), 0);
  // Null mean/rstd are allowed.
  AddLayerNormForward(sum.data(), delta.data(), w.data(), y2.data(), rows, cols, 1e-5f, nullptr,
                      nullptr);
}

// Results are bitwise identical for 1 and 2 threads (static row split, column-block dweight).
TEST(LayerNormCpu, ThreadCountIndependent) {
  const int64_t rows = 200, cols = 768;
  const std::vector<float> x = RandomFloats(rows * cols, 51, -2, 2);
  const std::vector<float> w = RandomFloats(cols, 52);
  const std::vector<float> dy = RandomFloats(rows * cols, 53);
  std::vector<float> y[2], dx[2], dw[2];
  for (int t = 0; t < 2; ++t) {
    test_util::WithThreads(t + 1, [&] {
      std::vector<float> mean(rows), rstd(rows);
      y[t].resize(rows * cols);
      dx[t].resize(rows * cols);
      dw[t].assign(cols, 0.0f);
      LayerNormForward(x.data(), cols, w.data(), y[t].data(), cols, rows, cols, 1e-5f, mean.data(),
                       rstd.data());
      LayerNormBackward(x.data(), cols, w.data(), mean.data(), rstd.data(), dy.data(), cols,
                        dx[t].data(), cols, dw[t].data(), rows, cols);
    });
  }
  EXPECT_EQ(y[0], y[1]);
  EXPECT_EQ(dx[0], dx[1]);
  EXPECT_EQ(dw[0], dw[1]);
}

}  // namespace
}  // namespace mbert::ops
