// Branch-free scalar float maths written so that GCC vectorises it inside `#pragma omp simd` loops
// (no libm calls, selects instead of branches). Used by GELU/GeGLU and the cross-entropy softmax.
// Accuracy targets the ops bar (design.md §5): relative error a few ulp, not last-bit.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace mbert::ops::fm {

// exp(a + b) for a + b <= 88, with b small next to a or exactly representable next to it: the
// range reduction k = round((a+b)/ln2) is applied to a, and b is added to the already reduced
// argument, so a large a (e.g. -x²/2 split exactly into hi + lo) keeps its full precision.
// Returns 0 below -87.3 (no denormals).
inline float Exp2Part(float a, float b) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;  // 9 significant bits: k * kLn2Hi is exact for |k| < 2^15
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting rounds to an integer
  const float s = a + b;
  const float lo_clamp = s < -87.3f ? -87.3f : s;
  const float x = lo_clamp > 88.0f ? 88.0f : lo_clamp;
  const float kf = (x * kLog2e + kRound) - kRound;
  // Cody-Waite: r = (a - k ln2) + b, with ln2 split so the large cancellation is exact.
  float r = a - kf * kLn2Hi;
  r = r + b;
  r = r - kf * kLn2Lo;
  r = s != x ? x - kf * (kLn2Hi + kLn2Lo) : r;  // clamped input: reduce the clamp value
  // exp(r) on |r| <= ln2/2 by its degree-7 Taylor polynomial (truncation error < 5e-9 relative).
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t k = static_cast<int32_t>(kf);
  const float scale = std::bit_cast<float>(static_cast<int32_t>((k + 127) << 23));
  return s < -87.3f ? 0.0f : p * scale;
}

inline float Exp(float x) { return Exp2Part(x, 0.0f); }

// -x²/2 as an unevaluated sum hi + lo (hi = fl(x*x) * -0.5 exactly, lo its rounding error), so
// exp(-x²/2) stays accurate far into the tail where x² is large.
inline float HalfSquareHi(float x) { return -0.5f * (x * x); }
inline float HalfSquareLo(float x) { return -0.5f * std::fma(x, x, -(x * x)); }

// Standard normal CDF Phi(x) = 0.5 * erfc(-x / sqrt(2)), the factor of exact-erf GELU.
// erfc(z), z >= 0, uses the Chebyshev-fitted form t * exp(-z² + P(t)), t = 1 / (1 + z/2)
// (Numerical Recipes "erfcc", fractional error < 1.2e-7 everywhere), evaluated on |x|; the sign
// is applied as Phi(x) = 1 - Phi(-x). Working on erfc keeps the negative tail relatively accurate.
inline float NormalCdf(float x) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  const float ax = std::fabs(x);
  const float z = ax * kInvSqrt2;
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
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
  const float half_erfc = 0.5f * t * Exp2Part(HalfSquareHi(ax), HalfSquareLo(ax) + p);
  return x >= 0.0f ? 1.0f - half_erfc : half_erfc;
}

// Standard normal density phi(x) = exp(-x²/2) / sqrt(2 pi).
inline float NormalPdf(float x) {
  constexpr float kInvSqrt2Pi = 0.39894228040143268f;
  return kInvSqrt2Pi * Exp2Part(HalfSquareHi(x), HalfSquareLo(x));
}

}  // namespace mbert::ops::fm
