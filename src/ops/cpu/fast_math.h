// Branch-free fp32 maths on GCC vector-extension types of one register (8 lanes with AVX, 4
// without; AVX-512 CPUs also get 8), used by GELU/GeGLU and the cross-entropy softmax. Written
// with explicit vectors because GCC will not auto-vectorise a scalar exp: with -ftrapping-math it
// jump-threads the clamping selects into branches. Accuracy targets the ops bar (design.md §5):
// relative error a few fp32 ulp, not last-bit.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__FMA__)
#include <immintrin.h>
#endif

namespace mbert::ops::fm {

#if defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;  // SSE: a 32-byte vector would not fit a register (and trips -Wpsabi)
#endif
using VecF = float __attribute__((vector_size(4 * kLanes)));
using VecI = int32_t __attribute__((vector_size(4 * kLanes)));

inline VecF Splat(float v) { return VecF{} + v; }
inline VecF Load(const float* p) {
  VecF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void Store(float* p, VecF v) { std::memcpy(p, &v, sizeof v); }
// Tails of n < kLanes elements: missing lanes are `fill`, only n lanes are written back.
inline VecF LoadPartial(const float* p, int64_t n, float fill) {
  VecF v = Splat(fill);
  std::memcpy(&v, p, static_cast<size_t>(n) * sizeof(float));
  return v;
}
inline void StorePartial(float* p, VecF v, int64_t n) {
  std::memcpy(p, &v, static_cast<size_t>(n) * sizeof(float));
}

inline VecF Abs(VecF x) { return (VecF)((VecI)x & 0x7fffffff); }

// a * b + c with a single rounding where the CPU has FMA. Without FMA it is two roundings, which
// only costs HalfSquareLo its correction term (see there).
inline VecF Fma(VecF a, VecF b, VecF c) {
#if defined(__FMA__) && defined(__AVX__)
  return (VecF)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
  return a * b + c;
#endif
}

// exp(a + b) for a + b <= 88, with b small next to a or exactly representable next to it: the
// range reduction k = round((a+b)/ln2) is applied to a, and b is added to the already reduced
// argument, so a large a (e.g. -x²/2 split exactly into hi + lo) keeps its full precision.
// Returns 0 below -87.3 (no denormals).
inline VecF Exp2Part(VecF a, VecF b) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693359375f;  // 9 significant bits: k * kLn2Hi is exact for |k| < 2^15
  const float kLn2Lo = -2.12194440e-4f;
  const float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting rounds to an integer
  const VecF s = a + b;
  const VecI underflow = s < -87.3f;
  const VecI clamped = underflow | (s > 88.0f);
  VecF x = underflow ? Splat(-87.3f) : s;
  x = x > 88.0f ? Splat(88.0f) : x;
  const VecF kf = (x * kLog2e + kRound) - kRound;
  // Cody-Waite: r = (a - k ln2) + b, with ln2 split so the large cancellation is exact.
  const VecF r_split = ((a - kf * kLn2Hi) + b) - kf * kLn2Lo;
  const VecF r_clamp = (x - kf * kLn2Hi) - kf * kLn2Lo;  // clamped input: reduce the clamp value
  const VecF r = clamped ? r_clamp : r_split;
  // exp(r) on |r| <= ln2/2 by its degree-7 Taylor polynomial (truncation error < 5e-9 relative).
  VecF p = Splat(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const VecI k = __builtin_convertvector(kf, VecI);
  const VecF scale = (VecF)((k + 127) << 23);
  return underflow ? Splat(0.0f) : p * scale;
}

inline VecF Exp(VecF x) { return Exp2Part(x, Splat(0.0f)); }

// -x²/2 as an unevaluated sum hi + lo (hi = -fl(x*x)/2 exactly, lo = -(x*x - fl(x*x))/2 from an
// FMA), so exp(-x²/2) keeps full precision far into the tail where x² is large. Without FMA lo is
// 0 and the tail loses about ulp(x²) of relative accuracy (~4e-6 at x = -12).
inline VecF HalfSquareHi(VecF x) { return -0.5f * (x * x); }
inline VecF HalfSquareLo(VecF x) { return -0.5f * Fma(x, x, -(x * x)); }

// Standard normal CDF Phi(x) = 0.5 * erfc(-x / sqrt(2)), the factor of exact-erf GELU.
// erfc(z), z >= 0, uses the Chebyshev-fitted form t * exp(-z² + P(t)), t = 1 / (1 + z/2)
// (Numerical Recipes "erfcc", fractional error < 1.2e-7 everywhere), evaluated on |x|; the sign
// is applied as Phi(x) = 1 - Phi(-x). Working on erfc keeps the negative tail relatively accurate.
inline VecF NormalCdf(VecF x) {
  const float kInvSqrt2 = 0.70710678118654752f;
  const VecF ax = Abs(x);
  const VecF t = 1.0f / (1.0f + 0.5f * (ax * kInvSqrt2));
  VecF p = Splat(0.17087277f);
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  // -z² = -x²/2, split exactly so that the exponent keeps full precision for large |x|.
  const VecF half_erfc = 0.5f * t * Exp2Part(HalfSquareHi(ax), HalfSquareLo(ax) + p);
  return x >= 0.0f ? 1.0f - half_erfc : half_erfc;
}

// Standard normal density phi(x) = exp(-x²/2) / sqrt(2 pi).
inline VecF NormalPdf(VecF x) {
  const float kInvSqrt2Pi = 0.39894228040143268f;
  return kInvSqrt2Pi * Exp2Part(HalfSquareHi(x), HalfSquareLo(x));
}

}  // namespace mbert::ops::fm
