// oneDNN GEMMs against a naive double loop: Linear (pre-packed weights, bias, accumulate, output
// stride, several M on one instance, Repack, 1 and 2 threads) and Gemm (all transpose combinations,
// odd shapes, leading dimensions larger than the rows, alpha/beta).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "elem_test_util.h"
#include "ops/cpu/gemm.h"

namespace mbert::ops {
namespace {

using test_util::RandomFloats;

// Checks c against sum_k a(i,k) b(k,j) computed in double; the bound is the standard fp32
// summation bound K * 2^-24 * sum_k |a||b| (with slack 2), which a wrong index or transpose
// exceeds by orders of magnitude.
struct Naive {
  std::vector<double> value, magnitude;
};

template <typename A, typename B>
Naive NaiveProduct(int64_t M, int64_t N, int64_t K, A a, B b) {
  Naive out{std::vector<double>(M * N), std::vector<double>(M * N)};
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double s = 0, m = 0;
      for (int64_t k = 0; k < K; ++k) {
        s += static_cast<double>(a(i, k)) * b(k, j);
        m += std::fabs(static_cast<double>(a(i, k)) * b(k, j));
      }
      out.value[i * N + j] = s;
      out.magnitude[i * N + j] = m;
    }
  }
  return out;
}

double Bound(int64_t K, double magnitude) { return 2.0 * (K + 2) * 0x1p-24 * magnitude + 1e-30; }

struct LinearCase {
  int64_t M, K, N;
  bool bias;
};

class LinearTest : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearTest, MatchesNaive) {
  const auto [M, K, N, use_bias] = GetParam();
  const std::vector<float> W = RandomFloats(N * K, 1);
  const std::vector<float> b = RandomFloats(N, 2);
  const std::vector<float> x = RandomFloats(M * K, 3);
  Linear lin(W.data(), N, K, use_bias ? b.data() : nullptr);
  EXPECT_EQ(lin.out_features(), N);
  EXPECT_EQ(lin.in_features(), K);
  // oneDNN must not fall back to its reference kernels for the pre-packed weight layout.
  EXPECT_NE(lin.ImplName(M).rfind("ref", 0), 0u) << lin.ImplName(M);
  const Naive want = NaiveProduct(
      M, N, K, [&](int64_t i, int64_t k) { return x[i * K + k]; },
      [&](int64_t k, int64_t j) { return W[j * K + k]; });  // Wᵀ
  const float bias_scale = use_bias ? 1.0f : 0.0f;
  for (int threads : {1, 2}) {
    test_util::WithThreads(threads, [&] {
      // Plain, then strided accumulate onto known values.
      std::vector<float> y(M * N, 123.0f);
      lin.Forward(x.data(), M, y.data());
      const int64_t ldy = N + 3;
      std::vector<float> y2 = RandomFloats(M * ldy, 4);
      const std::vector<float> y2_before = y2;
      lin.Forward(x.data(), M, y2.data(), ldy, /*accumulate=*/true);
      double worst = 0;
      for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
          const double ref = want.value[i * N + j] + bias_scale * b[j];
          const double tol = Bound(K, want.magnitude[i * N + j] + std::fabs(b[j]));
          worst = std::max(worst, std::fabs(y[i * N + j] - ref) / tol);
          ASSERT_NEAR(y[i * N + j], ref, tol) << i << "," << j;
          const double ref2 = y2_before[i * ldy + j] + ref;
          ASSERT_NEAR(y2[i * ldy + j], ref2, tol + 1e-6) << "accumulate " << i << "," << j;
        }
        for (int64_t j = N; j < ldy; ++j) ASSERT_EQ(y2[i * ldy + j], y2_before[i * ldy + j]);
      }
      std::printf(
          "[measured] Linear M=%ld K=%ld N=%ld bias=%d threads=%d (%s): worst err / bound %.3g\n",
          long(M), long(K), long(N), int(use_bias), threads, lin.ImplName(M).c_str(), worst);
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearTest,
                         ::testing::Values(LinearCase{37, 129, 65, false},
                                           LinearCase{1, 768, 2304, false},
                                           LinearCase{64, 768, 768, true},
                                           LinearCase{5, 37, 1, true},
                                           LinearCase{130, 64, 74, false}));

// One Linear serves many batch sizes (the cached primitives are keyed by M), and Repack swaps in
// new weights.
TEST(LinearTest, ManyBatchSizesAndRepack) {
  const int64_t K = 48, N = 40;
  std::vector<float> W = RandomFloats(N * K, 5);
  std::vector<float> b = RandomFloats(N, 6);
  Linear lin(W.data(), N, K, b.data());
  for (int round = 0; round < 2; ++round) {
    if (round == 1) {
      W = RandomFloats(N * K, 7);
      b = RandomFloats(N, 8);
      lin.Repack(W.data(), b.data());
    }
    for (int64_t M : {1, 2, 17, 3, 17, 100}) {
      const std::vector<float> x = RandomFloats(M * K, 9 + M);
      std::vector<float> y(M * N);
      lin.Forward(x.data(), M, y.data());
      for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
          double s = b[j], m = std::fabs(b[j]);
          for (int64_t k = 0; k < K; ++k) {
            s += static_cast<double>(x[i * K + k]) * W[j * K + k];
            m += std::fabs(static_cast<double>(x[i * K + k]) * W[j * K + k]);
          }
          ASSERT_NEAR(y[i * N + j], s, Bound(K, m)) << "round " << round << " M=" << M;
        }
      }
    }
  }
}

// Borrow computes what the copying Linear computes, on the caller's buffers: in-place updates
// are seen at once (where borrowed), and Repack points it at new buffers.
TEST(LinearTest, BorrowMatchesCopy) {
  const int64_t K = 96, N = 70;
  std::vector<float> W = RandomFloats(N * K, 41), b = RandomFloats(N, 42);
  Linear borrowed = Linear::Borrow(W.data(), N, K, b.data());
  std::printf("[measured] Borrow (%ld, %ld): %s, owns %ld bytes\n", long(N), long(K),
              borrowed.borrowed() ? "borrowed" : "copied (blocked layout)",
              long(borrowed.owned_bytes()));
  EXPECT_EQ(borrowed.owned_bytes() == 0, borrowed.borrowed());
  for (int round = 0; round < 3; ++round) {
    if (round == 1) {  // an optimizer step: values change in place, then Repack
      for (float& w : W) w *= -0.5f;
      for (float& v : b) v += 1.0f;
      borrowed.Repack(W.data(), b.data());
    }
    std::vector<float> W2 = RandomFloats(N * K, 43), b2 = RandomFloats(N, 44);
    if (round == 2) borrowed.Repack(W2.data(), b2.data());  // new buffers
    const Linear copy(round == 2 ? W2.data() : W.data(), N, K, round == 2 ? b2.data() : b.data());
    for (int64_t M : {1, 7, 300}) {
      const std::vector<float> x = RandomFloats(M * K, 45 + M);
      std::vector<float> y1(M * N), y2(M * N);
      copy.Forward(x.data(), M, y1.data());
      borrowed.Forward(x.data(), M, y2.data());
      for (int64_t i = 0; i < M * N; ++i)
        ASSERT_NEAR(y1[i], y2[i], 1e-5f * (1 + std::fabs(y1[i]))) << "round " << round;
    }
  }
}

// bf16 weights: each Forward expands W block by block (the (1100, 300) case takes two blocks
// below M = 512, one from there on)
// and must equal a borrowing Linear on the expanded fp32 W bit for bit (both multiply on the
// (out, in) layout), with bias, output stride and accumulation. Where Borrow copies into a
// blocked layout (AVX-512) the kernels differ, and so may the rounding. Layouts matter even on
// AVX2: at M = 1 oneDNN's gemv on Wᵀ (the copying Linear's layout) sums in another order.
TEST(LinearTest, Bf16MatchesFp32OnExpandedWeights) {
  for (const auto& [N, K] : {std::pair<int64_t, int64_t>{1100, 300}, {40, 48}}) {
    const std::vector<float> Wf = RandomFloats(N * K, 51);
    std::vector<uint16_t> W16(N * K);
    std::vector<float> W(N * K);
    for (int64_t i = 0; i < N * K; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &Wf[i], 4);
      W16[i] = static_cast<uint16_t>(bits >> 16);  // truncation: any bf16 pattern will do
      bits = static_cast<uint32_t>(W16[i]) << 16;
      std::memcpy(&W[i], &bits, 4);
    }
    const std::vector<float> b = RandomFloats(N, 52);
    const Linear bf16 = Linear::BorrowBf16(W16.data(), N, K, b.data());
    const Linear fp32 = Linear::Borrow(W.data(), N, K, b.data());
    EXPECT_TRUE(bf16.bf16());
    EXPECT_EQ(bf16.owned_bytes(), 0);
    for (int threads : {1, 2}) {
      test_util::WithThreads(threads, [&] {
        for (int64_t M : {1, 33, 129, 600}) {
          const std::vector<float> x = RandomFloats(M * K, 53 + M);
          const int64_t ldy = N + 5;
          std::vector<float> y1 = RandomFloats(M * ldy, 54), y2 = y1;
          fp32.Forward(x.data(), M, y1.data(), ldy, /*accumulate=*/M == 33);
          bf16.Forward(x.data(), M, y2.data(), ldy, /*accumulate=*/M == 33);
          if (fp32.borrowed()) {
            ASSERT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)))
                << "N=" << N << " M=" << M << " threads=" << threads;
          } else {
            for (size_t i = 0; i < y1.size(); ++i)
              ASSERT_NEAR(y1[i], y2[i], 1e-4f * (1 + std::fabs(y1[i]))) << "M=" << M;
          }
        }
      });
    }
  }
}

struct GemmCase {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
};

class GemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmTest, MatchesNaive) {
  const auto [ta, tb, M, N, K, alpha, beta] = GetParam();
  // Stored shapes: A (M, K) or (K, M); B (K, N) or (N, K); leading dims padded by a few columns.
  const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
  const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
  const int64_t lda = a_cols + 3, ldb = b_cols + 5, ldc = N + 2;
  const std::vector<float> A = RandomFloats(a_rows * lda, 21);
  const std::vector<float> B = RandomFloats(b_rows * ldb, 22);
  std::vector<float> C = RandomFloats(M * ldc, 23);
  const std::vector<float> C0 = C;
  Gemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  const Naive want = NaiveProduct(
      M, N, K, [&](int64_t i, int64_t k) { return ta ? A[k * lda + i] : A[i * lda + k]; },
      [&](int64_t k, int64_t j) { return tb ? B[j * ldb + k] : B[k * ldb + j]; });
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      const double ref = alpha * want.value[i * N + j] + beta * C0[i * ldc + j];
      const double tol = Bound(
          K, std::fabs(alpha) * want.magnitude[i * N + j] + std::fabs(beta * C0[i * ldc + j]));
      ASSERT_NEAR(C[i * ldc + j], ref, tol) << ta << tb << " " << i << "," << j;
    }
    for (int64_t j = N; j < ldc; ++j) ASSERT_EQ(C[i * ldc + j], C0[i * ldc + j]);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(GemmCase{false, false, 37, 129, 65, 1.0f, 0.0f},
                                           GemmCase{false, true, 37, 129, 65, 1.0f, 1.0f},
                                           GemmCase{true, false, 129, 37, 65, 0.5f, 1.0f},
                                           GemmCase{true, true, 65, 37, 129, -2.0f, 0.25f},
                                           GemmCase{true, false, 768, 130, 37, 1.0f,
                                                    1.0f},  // dW += dYᵀ X shape
                                           GemmCase{false, false, 1, 1, 1, 1.0f, 0.0f},
                                           GemmCase{false, false, 3, 4, 0, 1.0f, 0.5f}));

// beta = 0 must overwrite C even when it holds NaN (BLAS semantics), which zero-initialised
// gradient buffers rely on.
TEST(GemmTest, BetaZeroOverwritesNaN) {
  const std::vector<float> A = RandomFloats(4 * 5, 31), B = RandomFloats(5 * 6, 32);
  std::vector<float> C(4 * 6, std::nanf(""));
  Gemm(false, false, 4, 6, 5, 1.0f, A.data(), 5, B.data(), 6, 0.0f, C.data(), 6);
  for (float v : C) EXPECT_FALSE(std::isnan(v));
}

}  // namespace
}  // namespace mbert::ops
