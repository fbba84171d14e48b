// The few SIMD operations the attention kernels need, for three targets chosen at compile time:
// AVX-512F (16 lanes), AVX2 + FMA (8 lanes) and a portable fallback (8 lanes of plain C++, for
// builds without -march=native). The kernels in attention.cpp are written once against this
// interface. Defining MBERT_ATTN_NO_AVX512 selects the AVX2 variant on AVX-512 machines: the
// AVX-512 variant has only been compiled, never run (the development machine is an AMD Zen 3
// without AVX-512), so if test_attention fails on an AVX-512 machine, compare with this switch.
//
// Lanes always hold consecutive queries of a block ("query lanes"), so masks are per query: for
// local layers a lane is live when its query lies in the key's band [lo, hi].
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace mbert::ops::attn_simd {

// Constants of exp(x) = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 (Cody-Waite split of ln 2),
// e^r by its degree-7 Taylor polynomial on |r| <= ln2/2 (truncation ~5e-9 relative, so the result
// is within ~1 ulp). Inputs below kExpFlush give exactly 0 (the result would be subnormal), which
// is what masked-out and far-below-max scores need.
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpFlush = -87.0f;
inline constexpr float kExpMax = 88.0f;
inline constexpr float kExpC[8] = {1.0f,         1.0f,          0.5f,          1.0f / 6.0f,
                                   1.0f / 24.0f, 1.0f / 120.0f, 1.0f / 720.0f, 1.0f / 5040.0f};

#if defined(__AVX512F__) && !defined(MBERT_ATTN_NO_AVX512)

inline constexpr int kLanes = 16;
inline constexpr int kRegisters = 32;
inline constexpr int kMaxAccumulators = 24;
using V = __m512;
using Mask = __mmask16;

// Keeps a loaded operand in a register: without it GCC folds the load into every FMA that uses
// it, which makes the micro-kernels load-bound instead of FMA-bound.
inline void Pin(V& x) { asm("" : "+v"(x)); }

inline V Zero() { return _mm512_setzero_ps(); }
inline V Set1(float x) { return _mm512_set1_ps(x); }
inline V Load(const float* p) { return _mm512_load_ps(p); }
inline void Store(float* p, V x) { _mm512_store_ps(p, x); }
inline V Add(V a, V b) { return _mm512_add_ps(a, b); }
inline V Sub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V Mul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }  // a * b + c
inline V Max(V a, V b) { return _mm512_mask_max_ps(a, 0xFFFF, a, b); }
inline V MaskedMax(V acc, Mask m, V x) { return _mm512_mask_max_ps(acc, m, acc, x); }
inline V MaskZero(Mask m, V x) { return _mm512_maskz_mov_ps(m, x); }
inline bool AnyNotEqual(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ) != 0; }

// Lanes i = first + lane with lo <= i <= hi.
inline Mask LaneMask(int32_t first, int32_t lo, int32_t hi) {
  const __m512i idx =
      _mm512_add_epi32(_mm512_set1_epi32(first),
                       _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  return _mm512_cmp_epi32_mask(idx, _mm512_set1_epi32(lo), _MM_CMPINT_GE) &
         _mm512_cmp_epi32_mask(idx, _mm512_set1_epi32(hi), _MM_CMPINT_LE);
}

inline V Exp(V x) {
  const Mask keep = _mm512_cmp_ps_mask(x, Set1(kExpFlush), _CMP_GE_OQ);
  // The full-mask forms avoid GCC 12's false -Wmaybe-uninitialized in the unmasked intrinsics.
  constexpr Mask kAll = 0xFFFF;
  x = _mm512_mask_max_ps(x, kAll, x, Set1(kExpFlush));
  x = _mm512_mask_min_ps(x, kAll, x, Set1(kExpMax));
  const V n = _mm512_mask_roundscale_ps(x, kAll, Mul(x, Set1(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = _mm512_fnmadd_ps(n, Set1(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, Set1(kLn2Lo), r);
  V p = Set1(kExpC[7]);
  for (int c = 6; c >= 0; --c) p = Fma(p, r, Set1(kExpC[c]));
  return _mm512_maskz_scalef_ps(keep, p, n);
}

#elif defined(__AVX2__) && defined(__FMA__)

inline constexpr int kLanes = 8;
inline constexpr int kRegisters = 16;
inline constexpr int kMaxAccumulators = 12;
using V = __m256;
using Mask = __m256;  // all-ones / all-zeros per lane

inline void Pin(V& x) { asm("" : "+x"(x)); }

inline V Zero() { return _mm256_setzero_ps(); }
inline V Set1(float x) { return _mm256_set1_ps(x); }
inline V Load(const float* p) { return _mm256_load_ps(p); }
inline void Store(float* p, V x) { _mm256_store_ps(p, x); }
inline V Add(V a, V b) { return _mm256_add_ps(a, b); }
inline V Sub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V Mul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V Max(V a, V b) { return _mm256_max_ps(a, b); }
inline V MaskedMax(V acc, Mask m, V x) { return _mm256_blendv_ps(acc, _mm256_max_ps(acc, x), m); }
inline V MaskZero(Mask m, V x) { return _mm256_and_ps(m, x); }
inline bool AnyNotEqual(V a, V b) {
  return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_NEQ_UQ)) != 0;
}

inline Mask LaneMask(int32_t first, int32_t lo, int32_t hi) {
  const __m256i idx =
      _mm256_add_epi32(_mm256_set1_epi32(first), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  // lo <= i  <=>  !(lo > i);  i <= hi  <=>  !(i > hi)
  const __m256i out = _mm256_or_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), idx),
                                      _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(hi)));
  return _mm256_castsi256_ps(_mm256_xor_si256(out, _mm256_set1_epi32(-1)));
}

inline V Exp(V x) {
  const V keep = _mm256_cmp_ps(x, Set1(kExpFlush), _CMP_GE_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, Set1(kExpFlush)), Set1(kExpMax));
  const V n = _mm256_round_ps(Mul(x, Set1(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = _mm256_fnmadd_ps(n, Set1(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, Set1(kLn2Lo), r);
  V p = Set1(kExpC[7]);
  for (int c = 6; c >= 0; --c) p = Fma(p, r, Set1(kExpC[c]));
  // 2^n built in the exponent field; n is in [-126, 127] after the clamp, so it is a normal float.
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(keep, Mul(p, _mm256_castsi256_ps(e)));
}

#else

// Portable fallback: 8 lanes of plain C++ (the compiler vectorises what it can).
inline constexpr int kLanes = 8;
inline constexpr int kRegisters = 16;
inline constexpr int kMaxAccumulators = 8;
struct V {
  float x[8];
};
struct Mask {
  bool m[8];
};
inline void Pin(V&) {}

inline V Zero() { return V{}; }
inline V Set1(float s) {
  V r;
  for (int i = 0; i < 8; ++i) r.x[i] = s;
  return r;
}
inline V Load(const float* p) {
  V r;
  for (int i = 0; i < 8; ++i) r.x[i] = p[i];
  return r;
}
inline void Store(float* p, V a) {
  for (int i = 0; i < 8; ++i) p[i] = a.x[i];
}
inline V Add(V a, V b) {
  for (int i = 0; i < 8; ++i) a.x[i] += b.x[i];
  return a;
}
inline V Sub(V a, V b) {
  for (int i = 0; i < 8; ++i) a.x[i] -= b.x[i];
  return a;
}
inline V Mul(V a, V b) {
  for (int i = 0; i < 8; ++i) a.x[i] *= b.x[i];
  return a;
}
inline V Fma(V a, V b, V c) {
  for (int i = 0; i < 8; ++i) c.x[i] = std::fma(a.x[i], b.x[i], c.x[i]);
  return c;
}
inline V Max(V a, V b) {
  for (int i = 0; i < 8; ++i) a.x[i] = b.x[i] > a.x[i] ? b.x[i] : a.x[i];
  return a;
}
inline V MaskedMax(V acc, Mask m, V x) {
  for (int i = 0; i < 8; ++i)
    if (m.m[i] && x.x[i] > acc.x[i]) acc.x[i] = x.x[i];
  return acc;
}
inline V MaskZero(Mask m, V x) {
  for (int i = 0; i < 8; ++i)
    if (!m.m[i]) x.x[i] = 0.0f;
  return x;
}
inline bool AnyNotEqual(V a, V b) {
  for (int i = 0; i < 8; ++i)
    if (a.x[i] != b.x[i]) return true;
  return false;
}
inline Mask LaneMask(int32_t first, int32_t lo, int32_t hi) {
  Mask r;
  for (int i = 0; i < 8; ++i) {
    const int64_t q = static_cast<int64_t>(first) + i;
    r.m[i] = q >= lo && q <= hi;
  }
  return r;
}
inline V Exp(V a) {
  for (int i = 0; i < 8; ++i) {
    const float x = a.x[i];
    if (!(x >= kExpFlush)) {
      a.x[i] = 0.0f;
      continue;
    }
    const float xc = x < kExpMax ? x : kExpMax;
    const float n = std::nearbyint(xc * kLog2e);
    float r = std::fma(-n, kLn2Hi, xc);
    r = std::fma(-n, kLn2Lo, r);
    float p = kExpC[7];
    for (int c = 6; c >= 0; --c) p = std::fma(p, r, kExpC[c]);
    a.x[i] = std::ldexp(p, static_cast<int>(n));
  }
  return a;
}

#endif

// dst[c][r] = src[r][c] * mul[c] for an 8 x 8 tile (row strides src_ld, dst_ld; no alignment
// needed). The query blocks are transposed in and out of the lane layout with it.
inline void Transpose8x8Scaled(const float* src, int64_t src_ld, const float* mul, float* dst,
                               int64_t dst_ld) {
#if defined(__AVX2__)
  const __m256 m = _mm256_loadu_ps(mul);
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_mul_ps(_mm256_loadu_ps(src + i * src_ld), m);
  // Pairs interleaved, then quads, then the 128-bit halves exchanged: row i of the result holds
  // element i of every input row.
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * dst_ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * dst_ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
  }
#else
  for (int c = 0; c < 8; ++c)
    for (int r = 0; r < 8; ++r) dst[c * dst_ld + r] = src[r * src_ld + c] * mul[c];
#endif
}

}  // namespace mbert::ops::attn_simd
