// Flash-style attention on a packed batch (see attention.h for the contract and
// src/ops/ref/attention.h for the maths), written once against the SIMD layer attention_simd.h
// (AVX-512, AVX2+FMA or portable; L = lanes per vector).
//
// Data layout inside a work item ("query lanes"): the BQ = L*NV queries of a block sit in the lanes
// of NV vectors, so every per-query quantity (running max, sum, lse, Dl) is a vector and the
// softmax needs no horizontal reductions:
//   Qt  (D, BQ)  scale * q of the block, transposed once per block
//   St  (BK, BQ) scores of a key chunk: St[j][i] = sum_d K[j][d] Qt[d][i]   (K[j][d] broadcast)
//   Ot  (D, BQ)  output accumulator: Ot[d][i] += sum_j V[j][d] P[j][i]        (V[j][d] broadcast)
// K and V are read by scalar broadcast, either in place from the strided qkv buffer (local layers:
// the band moves with the block and stays cached) or from a contiguous copy of the head's keys and
// values (global layers and the backward, which re-read them for every query block). Query blocks
// start at multiples of BQ from the sequence start and key chunks at the first key of the block's
// band, so a sequence's result is independent of its neighbours in the packed batch, of the thread
// count and of the order in which items run.
//
// Backward (FlashAttention-2 style recomputation from lse): per (sequence, head), query blocks
// outer, the forward's key chunks inner; P, dP = dO V^T and dS = P (dP - Dl) are recomputed per
// chunk, dQ accumulates per block in the lane layout, dK and dV in per-sequence row-major scratch.
#include "ops/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "core/check.h"
#include "ops/cpu/attention_simd.h"

namespace mbert::ops {
namespace {

namespace simd = attn_simd;
using simd::V;
constexpr int kL = simd::kLanes;
constexpr int kNV = 2;         // query vectors per block
constexpr int kBQ = kL * kNV;  // queries per block: 32 (AVX-512) or 16 (AVX2)
constexpr int kKeyChunk = 64;  // BK: keys per online-softmax step

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using ScratchPtr = std::unique_ptr<float, FreeDeleter>;

// Per-thread scratch, 64-byte aligned, allocated once per call (never inside the block loops).
ScratchPtr AllocScratch(size_t floats) {
  const size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes > 0 ? bytes : 64));
  MBERT_CHECK(p != nullptr, "out of memory allocating ", bytes, " bytes of attention scratch");
  return ScratchPtr(p);
}

// int64 -> int32 with saturation (band limits j -/+ W may leave the int32 range).
inline int32_t Sat32(int64_t x) {
  return static_cast<int32_t>(std::clamp<int64_t>(x, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

// Whether key j is outside the band of some lane of the block at q0 (local layers only). Lanes past
// the end of the sequence are never masked: their q is zero, their scores finite, and nothing they
// compute is stored or summed into another query's result.
inline bool RowNeedsMask(int64_t q0, int64_t j, int window) {
  return window >= 0 && (j < q0 + kBQ - 1 - window || j > q0 + window);
}

// Lanes of vector v of the block at q0 that may see key j: |i - j| <= window.
inline simd::Mask KeyMask(int64_t q0, int v, int64_t j, int window) {
  return simd::LaneMask(static_cast<int32_t>(q0 + kL * v), Sat32(j - window), Sat32(j + window));
}

// Brings rows [r0, r1) of a strided (rows, ld) buffer, columns [col, col + D), towards L1. The
// query/output/key rows of the next block sit in the large (N, 3C) buffers, far apart, and would
// otherwise each cost a cache miss in the middle of the block.
// kWrite: the rows will be written (request them exclusive).
template <int kWrite>
inline void PrefetchRows(const float* base, int64_t ld, int64_t r0, int64_t r1, int64_t col,
                         int D) {
  for (int64_t r = r0; r < r1; ++r)
    for (int d = 0; d < D; d += 16) __builtin_prefetch(base + r * ld + col + d, kWrite, 3);
}

// Keys and values of one (sequence, head): row r of the sequence at k + r * ld (and v + r * ld).
// Either straight into the (N, 3C) qkv buffer (ld = 3C) or a contiguous packed copy (ld = D).
struct KeyValues {
  const float* k;
  const float* v;
  int64_t ld;
  bool packed;
};

// Copies rows [0, rows) of a strided (rows, ld) buffer, D columns, to a contiguous (rows, D) one.
// Global layers read every key of the sequence once per query block; from the strided qkv buffer
// each key row is 4 cache lines on its own page, and long sequences thrash the TLB and prefetchers.
// Rows are requested kRowsAhead ahead: each is a separate miss, and the copy loop alone would
// wait for them one at a time.
constexpr int64_t kRowsAhead = 8;

void PackRows(const float* src, int64_t ld, int64_t rows, int D, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    if (r + kRowsAhead < rows) PrefetchRows<0>(src, ld, r + kRowsAhead, r + kRowsAhead + 1, 0, D);
    std::memcpy(dst + r * D, src + r * ld, sizeof(float) * D);
  }
}

// Prefetches for a query block [q0, q0 + BQ) of the sequence [start, end) whose band ends at key
// khi: the next block's queries and (unpacked keys/values only) the keys/values its band adds.
inline void PrefetchNextBlock(const float* q, int64_t ld_q, int64_t head_off, const KeyValues& kv,
                              int D, int64_t start, int64_t q0, int64_t end, int64_t khi) {
  const int64_t nq0 = q0 + kBQ, nq1 = std::min<int64_t>(end, q0 + 2 * kBQ);
  PrefetchRows<0>(q, ld_q, nq0, nq1, head_off, D);
  if (!kv.packed) {
    const int64_t k1 = std::min<int64_t>(end, khi + kBQ);
    PrefetchRows<0>(kv.k, kv.ld, khi - start, k1 - start, 0, D);
    PrefetchRows<0>(kv.v, kv.ld, khi - start, k1 - start, 0, D);
  }
}

// dst[c][r] = src[r][c] * mul[c] for r < rows, c < cols: the transposes into and out of the lane
// layout, 8 x 8 tiles plus scalar edges.
void TransposeScaled(const float* src, int64_t src_ld, int rows, int cols, const float* mul,
                     float* dst, int64_t dst_ld) {
  const int rows8 = rows / 8 * 8, cols8 = cols / 8 * 8;
  for (int r = 0; r < rows8; r += 8)
    for (int c = 0; c < cols8; c += 8)
      simd::Transpose8x8Scaled(src + r * src_ld + c, src_ld, mul + c, dst + c * dst_ld + r, dst_ld);
  for (int r = 0; r < rows; ++r)
    for (int c = (r < rows8 ? cols8 : 0); c < cols; ++c)
      dst[c * dst_ld + r] = src[r * src_ld + c] * mul[c];
}

// ---------------------------------------------------------------------------------------------
// Micro-kernels. Each holds a register block of accumulators, rows x vecs, plus the vecs operands
// of one step and a broadcast: as many rows as the register file allows (6 x 2 on AVX2, 12 x 2 on
// AVX-512), enough independent FMAs to cover the FMA latency on both ports.

constexpr int RowsFor(int vecs) {
  const int by_acc = simd::kMaxAccumulators / vecs;
  const int by_regs = (simd::kRegisters - 2 - vecs) / vecs;
  return std::max(1, std::min(by_acc, by_regs));
}

// St[j][:] = sum_d K[j][d] * Xt[d][:] for JB consecutive keys; K rows at kb + j*ld (in place or
// packed).
template <int JB>
inline void ScoreRows(const float* kb, int64_t ld, const float* xt, int D, float* st) {
  V acc[JB][kNV];
  for (int j = 0; j < JB; ++j)
    for (int v = 0; v < kNV; ++v) acc[j][v] = simd::Zero();
      // Unrolled so loop overhead does not compete with the FMAs for issue slots.
#pragma GCC unroll 4
  for (int d = 0; d < D; ++d) {
    V x[kNV];
    for (int v = 0; v < kNV; ++v) {
      x[v] = simd::Load(xt + d * kBQ + kL * v);
      simd::Pin(x[v]);
    }
    for (int j = 0; j < JB; ++j) {
      const V kv = simd::Set1(kb[j * ld + d]);
      for (int v = 0; v < kNV; ++v) acc[j][v] = simd::Fma(kv, x[v], acc[j][v]);
    }
  }
  for (int j = 0; j < JB; ++j)
    for (int v = 0; v < kNV; ++v) simd::Store(st + j * kBQ + kL * v, acc[j][v]);
}

// St (nk, BQ) = K (nk, D) x Xt (D, BQ).
void ScoresT(const float* kb, int64_t ld, int nk, const float* xt, int D, float* st) {
  constexpr int JB = RowsFor(kNV);
  int j = 0;
  for (; j + JB <= nk; j += JB) ScoreRows<JB>(kb + j * ld, ld, xt, D, st + j * kBQ);
  if constexpr (JB > 4) {
    if (j + 4 <= nk) {
      ScoreRows<4>(kb + j * ld, ld, xt, D, st + j * kBQ);
      j += 4;
    }
  }
  for (; j + 2 <= nk; j += 2) ScoreRows<2>(kb + j * ld, ld, xt, D, st + j * kBQ);
  for (; j < nk; ++j) ScoreRows<1>(kb + j * ld, ld, xt, D, st + j * kBQ);
}

// Ot[d][:] += sum_j V[j][d] * Pt[j][:] for DB consecutive d (vb already offset to the first d).
template <int DB>
inline void AccumRows(const float* vb, int64_t ld, int nk, const float* pt, float* ot) {
  V acc[DB][kNV];
  for (int d = 0; d < DB; ++d)
    for (int v = 0; v < kNV; ++v) acc[d][v] = simd::Load(ot + d * kBQ + kL * v);
#pragma GCC unroll 4
  for (int j = 0; j < nk; ++j) {
    V p[kNV];
    for (int v = 0; v < kNV; ++v) {
      p[v] = simd::Load(pt + j * kBQ + kL * v);
      simd::Pin(p[v]);
    }
    const float* vj = vb + j * ld;
    for (int d = 0; d < DB; ++d) {
      const V vv = simd::Set1(vj[d]);
      for (int v = 0; v < kNV; ++v) acc[d][v] = simd::Fma(vv, p[v], acc[d][v]);
    }
  }
  for (int d = 0; d < DB; ++d)
    for (int v = 0; v < kNV; ++v) simd::Store(ot + d * kBQ + kL * v, acc[d][v]);
}

// Ot (D, BQ) += V^T (D, nk) x Pt (nk, BQ).
void AccumT(const float* vb, int64_t ld, int nk, const float* pt, int D, float* ot) {
  constexpr int DB = RowsFor(kNV);
  int d = 0;
  for (; d + DB <= D; d += DB) AccumRows<DB>(vb + d, ld, nk, pt, ot + d * kBQ);
  if constexpr (DB > 4) {
    if (d + 4 <= D) {
      AccumRows<4>(vb + d, ld, nk, pt, ot + d * kBQ);
      d += 4;
    }
  }
  for (; d + 2 <= D; d += 2) AccumRows<2>(vb + d, ld, nk, pt, ot + d * kBQ);
  for (; d < D; ++d) AccumRows<1>(vb + d, ld, nk, pt, ot + d * kBQ);
}

// Backward: Acc[j][:] += sum_{i < nq} Pt[j][i] * R[i][:] over G column vectors, JB rows j.
// Acc and R have row stride dp (D padded to L); Pt has row stride BQ.
template <int G, int JB>
inline void RowAccumRows(const float* pt, int nq, const float* r, int dp, float* acc) {
  V a[JB][G];
  for (int j = 0; j < JB; ++j)
    for (int g = 0; g < G; ++g) a[j][g] = simd::Load(acc + j * dp + kL * g);
#pragma GCC unroll 4
  for (int i = 0; i < nq; ++i) {
    V x[G];
    for (int g = 0; g < G; ++g) {
      x[g] = simd::Load(r + i * dp + kL * g);
      simd::Pin(x[g]);
    }
    for (int j = 0; j < JB; ++j) {
      const V pv = simd::Set1(pt[j * kBQ + i]);
      for (int g = 0; g < G; ++g) a[j][g] = simd::Fma(pv, x[g], a[j][g]);
    }
  }
  for (int j = 0; j < JB; ++j)
    for (int g = 0; g < G; ++g) simd::Store(acc + j * dp + kL * g, a[j][g]);
}

template <int G>
void RowAccumCols(const float* pt, int nk, int nq, const float* r, int dp, float* acc) {
  constexpr int JB = RowsFor(G);
  int j = 0;
  for (; j + JB <= nk; j += JB)
    RowAccumRows<G, JB>(pt + j * kBQ, nq, r, dp, acc + static_cast<int64_t>(j) * dp);
  if constexpr (JB > 4) {
    if (j + 4 <= nk) {
      RowAccumRows<G, 4>(pt + j * kBQ, nq, r, dp, acc + static_cast<int64_t>(j) * dp);
      j += 4;
    }
  }
  for (; j + 2 <= nk; j += 2)
    RowAccumRows<G, 2>(pt + j * kBQ, nq, r, dp, acc + static_cast<int64_t>(j) * dp);
  for (; j < nk; ++j)
    RowAccumRows<G, 1>(pt + j * kBQ, nq, r, dp, acc + static_cast<int64_t>(j) * dp);
}

// Acc (nk, dp) += Pt (nk, :nq) x R (nq, dp).
void RowAccum(const float* pt, int nk, int nq, const float* r, int dp, float* acc) {
  const int nvec = dp / kL;
  int g = 0;
  for (; g + 2 <= nvec; g += 2) RowAccumCols<2>(pt, nk, nq, r + kL * g, dp, acc + kL * g);
  if (g < nvec) RowAccumCols<1>(pt, nk, nq, r + kL * g, dp, acc + kL * g);
}

// ---------------------------------------------------------------------------------------------
// Problem description, work items and their static, cost-weighted partition over threads.

struct Problem {
  const float* q;
  const float* k;
  const float* v;
  int64_t ld_in;
  const int32_t* cu_seqlens;
  int num_seqs;
  int num_heads;
  int head_dim;
  int window;  // < 0: global
  float scale;
};

// Keys [lo, hi) needed by queries [q0, q1) of the sequence [start, end).
inline void BandRange(const Problem& p, int64_t start, int64_t end, int64_t q0, int64_t q1,
                      int64_t* lo, int64_t* hi) {
  if (p.window < 0) {
    *lo = start;
    *hi = end;
  } else {
    *lo = std::max<int64_t>(start, q0 - p.window);
    *hi = std::min<int64_t>(end, q1 + p.window);
  }
}

void CheckProblem(const Problem& p) {
  MBERT_CHECK(p.num_heads > 0 && p.head_dim > 0, "num_heads=", p.num_heads,
              " head_dim=", p.head_dim);
  MBERT_CHECK(p.ld_in >= static_cast<int64_t>(p.num_heads) * p.head_dim, "ld_in=", p.ld_in);
  MBERT_CHECK(p.num_seqs >= 0, "num_seqs=", p.num_seqs);
  for (int b = 0; b < p.num_seqs; ++b) {
    MBERT_CHECK(p.cu_seqlens[b] >= 0 && p.cu_seqlens[b + 1] >= p.cu_seqlens[b],
                "cu_seqlens must be non-negative and non-decreasing: cu_seqlens[", b,
                "]=", p.cu_seqlens[b], " cu_seqlens[", b + 1, "]=", p.cu_seqlens[b + 1]);
  }
}

struct Item {
  int seq;
  int head;
  int64_t q0;  // forward: first query of the block; backward: unused (whole sequence)
};

// Items [lo, hi) for thread t of nt, splitting the prefix costs evenly. Any split gives the same
// numbers (items are independent and each is computed the same way by whichever thread runs it);
// this one just balances mixed sequence lengths.
void ThreadRange(const std::vector<int64_t>& prefix, int t, int nt, size_t* lo, size_t* hi) {
  const size_t n = prefix.size() - 1;
  const int64_t total = prefix[n];
  auto boundary = [&](int tt) -> size_t {
    if (tt <= 0) return 0;
    if (tt >= nt) return n;
    const int64_t target = static_cast<int64_t>(static_cast<double>(total) * tt / nt);
    return static_cast<size_t>(std::lower_bound(prefix.begin(), prefix.end(), target) -
                               prefix.begin());
  };
  *lo = std::min(boundary(t), n);
  *hi = std::max(*lo, std::min(boundary(t + 1), n));
}

// ---------------------------------------------------------------------------------------------
// Forward

struct ForwardScratch {
  // pack_rows: rows of packed keys and values to hold (0 when they are read in place).
  ForwardScratch(int D, float scale, int64_t pack_rows)
      : buf(AllocScratch(
            static_cast<size_t>(2 * D * kBQ + kKeyChunk * kBQ + D + 2 * pack_rows * D))),
        qt(buf.get()),
        ot(qt + D * kBQ),
        st(ot + D * kBQ),
        scale_row(st + kKeyChunk * kBQ),
        kpack(scale_row + D),
        vpack(kpack + pack_rows * D) {
    std::fill(scale_row, scale_row + D, scale);
  }
  ScratchPtr buf;
  float* qt;         // (D, BQ)
  float* ot;         // (D, BQ)
  float* st;         // (BK, BQ)
  float* scale_row;  // (D) all equal to the softmax scale
  float* kpack;      // (len, D) keys of the current (sequence, head), global layers
  float* vpack;      // (len, D) values of the current (sequence, head), global layers
};

void ForwardBlock(const Problem& p, int64_t start, int64_t end, int h, int64_t q0,
                  const KeyValues& kv, float* out, int64_t ld_out, float* lse, ForwardScratch& s) {
  const int D = p.head_dim;
  const int nq = static_cast<int>(std::min<int64_t>(kBQ, end - q0));
  const int64_t q_end = q0 + nq;
  const int64_t head_off = static_cast<int64_t>(h) * D;

  // Qt = scale * q^T; padding lanes are zero so their scores stay finite.
  std::memset(s.qt, 0, sizeof(float) * D * kBQ);
  TransposeScaled(p.q + q0 * p.ld_in + head_off, p.ld_in, nq, D, s.scale_row, s.qt, kBQ);
  std::memset(s.ot, 0, sizeof(float) * D * kBQ);

  // The running max starts finite so a lane whose first chunk is fully masked gets alpha = 1, not
  // exp(-inf + inf) = NaN; its masked probabilities are 0 whatever the max.
  V m[kNV], l[kNV];
  for (int v = 0; v < kNV; ++v) {
    m[v] = simd::Set1(-1e30f);
    l[v] = simd::Zero();
  }

  int64_t klo, khi;
  BandRange(p, start, end, q0, q_end, &klo, &khi);
  PrefetchRows<1>(out, ld_out, q0, q_end, head_off, D);
  PrefetchNextBlock(p.q, p.ld_in, head_off, kv, D, start, q0, end, khi);
  for (int64_t c0 = klo; c0 < khi; c0 += kKeyChunk) {
    const int nk = static_cast<int>(std::min<int64_t>(kKeyChunk, khi - c0));
    ScoresT(kv.k + (c0 - start) * kv.ld, kv.ld, nk, s.qt, D, s.st);

    V mnew[kNV];
    for (int v = 0; v < kNV; ++v) mnew[v] = m[v];
    for (int j = 0; j < nk; ++j) {
      const float* row = s.st + j * kBQ;
      if (RowNeedsMask(q0, c0 + j, p.window)) {
        for (int v = 0; v < kNV; ++v)
          mnew[v] =
              simd::MaskedMax(mnew[v], KeyMask(q0, v, c0 + j, p.window), simd::Load(row + kL * v));
      } else {
        for (int v = 0; v < kNV; ++v) mnew[v] = simd::Max(mnew[v], simd::Load(row + kL * v));
      }
    }
    bool changed = false;
    V alpha[kNV];
    for (int v = 0; v < kNV; ++v) {
      changed |= simd::AnyNotEqual(mnew[v], m[v]);
      alpha[v] = simd::Exp(simd::Sub(m[v], mnew[v]));
      l[v] = simd::Mul(l[v], alpha[v]);
      m[v] = mnew[v];
    }
    if (changed) {
      for (int d = 0; d < D; ++d)
        for (int v = 0; v < kNV; ++v) {
          float* o = s.ot + d * kBQ + kL * v;
          simd::Store(o, simd::Mul(simd::Load(o), alpha[v]));
        }
    }
    for (int j = 0; j < nk; ++j) {
      const bool masked = RowNeedsMask(q0, c0 + j, p.window);
      for (int v = 0; v < kNV; ++v) {
        float* sp = s.st + j * kBQ + kL * v;
        V pr = simd::Exp(simd::Sub(simd::Load(sp), m[v]));
        if (masked) pr = simd::MaskZero(KeyMask(q0, v, c0 + j, p.window), pr);
        l[v] = simd::Add(l[v], pr);
        simd::Store(sp, pr);
      }
    }
    AccumT(kv.v + (c0 - start) * kv.ld, kv.ld, nk, s.st, D, s.ot);
  }

  alignas(64) float lsum[kBQ];
  alignas(64) float mx[kBQ];
  for (int v = 0; v < kNV; ++v) {
    simd::Store(lsum + kL * v, l[v]);
    simd::Store(mx + kL * v, m[v]);
  }
  // Every real query sees at least itself, so lsum > 0 on the nq real lanes.
  alignas(64) float inv[kBQ];
  for (int i = 0; i < kBQ; ++i) inv[i] = i < nq ? 1.0f / lsum[i] : 0.0f;
  TransposeScaled(s.ot, kBQ, D, nq, inv, out + q0 * ld_out + head_off, ld_out);
  if (lse != nullptr) {
    for (int i = 0; i < nq; ++i) lse[(q0 + i) * p.num_heads + h] = mx[i] + std::log(lsum[i]);
  }
}

}  // namespace

void AttentionForward(const float* q, const float* k, const float* v, int64_t ld_in, float* out,
                      int64_t ld_out, float* lse, const int32_t* cu_seqlens, int num_seqs,
                      int num_heads, int head_dim, int window, float scale) {
  const Problem p{q, k, v, ld_in, cu_seqlens, num_seqs, num_heads, head_dim, window, scale};
  CheckProblem(p);
  MBERT_CHECK(ld_out >= static_cast<int64_t>(num_heads) * head_dim, "ld_out=", ld_out);
  // Work items are query blocks, ordered so that a thread's contiguous range reuses what is cached:
  //  long global sequences: (sequence, head, block); the thread packs the head's keys/values once
  //          and every block of the head streams through that contiguous copy.
  //  local layers and global sequences up to kLocalSpan: (sequence, span of kLocalSpan queries,
  //          head, block), reading keys/values in place; the span's rows of the qkv buffer plus
  //          the band around them (~3.5 MB for C = 768) stay in cache while all heads pass.
  // Blocks always start at multiples of BQ from the sequence start and packed or in-place keys
  // hold the same numbers, so none of this changes the results.
  constexpr int64_t kLocalSpan = 16 * kBQ;
  const bool global = window < 0;
  auto packs = [&](int64_t len) { return global && len > kLocalSpan; };
  std::vector<Item> items;
  std::vector<int64_t> prefix(1, 0);
  int64_t max_len = 0;
  auto add_block = [&](int b, int h, int64_t q0, int64_t start, int64_t end) {
    int64_t lo, hi;
    BandRange(p, start, end, q0, std::min<int64_t>(q0 + kBQ, end), &lo, &hi);
    items.push_back(Item{b, h, q0});
    prefix.push_back(prefix.back() + (hi - lo) + kL);
  };
  for (int b = 0; b < num_seqs; ++b) {
    const int64_t start = cu_seqlens[b], end = cu_seqlens[b + 1];
    max_len = std::max(max_len, end - start);
    if (packs(end - start)) {
      for (int h = 0; h < num_heads; ++h)
        for (int64_t q0 = start; q0 < end; q0 += kBQ) add_block(b, h, q0, start, end);
    } else {
      for (int64_t s0 = start; s0 < end; s0 += kLocalSpan)
        for (int h = 0; h < num_heads; ++h)
          for (int64_t q0 = s0; q0 < std::min(end, s0 + kLocalSpan); q0 += kBQ)
            add_block(b, h, q0, start, end);
    }
  }
  if (items.empty()) return;
  const int threads =
      std::max(1, std::min<int>(omp_get_max_threads(), static_cast<int>(items.size())));
#pragma omp parallel num_threads(threads)
  {
    size_t lo, hi;
    ThreadRange(prefix, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    if (lo < hi) {
      ForwardScratch scratch(head_dim, scale, packs(max_len) ? max_len : 0);
      int packed_seq = -1, packed_head = -1;
      for (size_t it = lo; it < hi; ++it) {
        const Item& w = items[it];
        const int64_t start = cu_seqlens[w.seq], end = cu_seqlens[w.seq + 1];
        const int64_t first = start * ld_in + static_cast<int64_t>(w.head) * head_dim;
        KeyValues kv{k + first, v + first, ld_in, false};
        if (packs(end - start)) {
          if (w.seq != packed_seq || w.head != packed_head) {
            PackRows(k + first, ld_in, end - start, head_dim, scratch.kpack);
            PackRows(v + first, ld_in, end - start, head_dim, scratch.vpack);
            packed_seq = w.seq;
            packed_head = w.head;
          }
          kv = KeyValues{scratch.kpack, scratch.vpack, head_dim, true};
        }
        ForwardBlock(p, start, end, w.head, w.q0, kv, out, ld_out, lse, scratch);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Backward: one work item per (sequence, head), query blocks outer and the same key chunks as the
// forward inner. dQ of a block accumulates in block-sized scratch (transposed, like Ot); dK and
// dV of the whole sequence accumulate in (len, Dp) scratch rows, so no two threads ever touch the
// same gradient and the summation order is fixed.

namespace {

struct BackwardScratch {
  BackwardScratch(int D, int64_t max_len, float scale)
      : dp((D + kL - 1) / kL * kL),
        buf(AllocScratch(static_cast<size_t>(3 * D * kBQ + 2 * kBQ * dp + 2 * kKeyChunk * kBQ +
                                             2 * max_len * dp + D + kBQ + 2 * max_len * D))) {
    float* f = buf.get();
    qt = f;
    f += D * kBQ;
    dot = f;
    f += D * kBQ;
    dqt = f;
    f += D * kBQ;
    qr = f;
    f += kBQ * dp;
    dor = f;
    f += kBQ * dp;
    st = f;
    f += kKeyChunk * kBQ;
    dpt = f;
    f += kKeyChunk * kBQ;
    dk = f;
    f += max_len * dp;
    dv = f;
    f += max_len * dp;
    ones = f;
    std::fill(ones, ones + D, 1.0f);
    f += D;
    scale_row = f;
    std::fill(scale_row, scale_row + kBQ, scale);
    f += kBQ;
    kpack = f;
    f += max_len * D;
    vpack = f;
  }
  int dp;  // D rounded up to the lane count: row stride of the row-major blocks
  ScratchPtr buf;
  float* qt;         // (D, BQ)  scale * q, transposed
  float* dot;        // (D, BQ)  dout, transposed
  float* dqt;        // (D, BQ)  dq accumulator (without the final scale), transposed
  float* qr;         // (BQ, Dp) scale * q, row-major
  float* dor;        // (BQ, Dp) dout, row-major
  float* st;         // (BK, BQ) P^T of a key chunk
  float* dpt;        // (BK, BQ) dP^T, then dS^T
  float* dk;         // (len, Dp) dk accumulator of the sequence
  float* dv;         // (len, Dp) dv accumulator of the sequence
  float* ones;       // (D) all 1
  float* scale_row;  // (BQ) all equal to the softmax scale
  float* kpack;      // (len, D) keys of the (sequence, head)
  float* vpack;      // (len, D) values of the (sequence, head)
};

struct Grads {
  const float* out;
  const float* dout;
  int64_t ld_out;
  const float* lse;
  float* dq;
  float* dk;
  float* dv;
  int64_t ld_grad;
};

void BackwardSeqHead(const Problem& p, const Grads& g, int64_t start, int64_t end, int h,
                     BackwardScratch& s) {
  const int D = p.head_dim, dp = s.dp;
  const int64_t head_off = static_cast<int64_t>(h) * D;
  // Keys and values are packed contiguous (every query block re-reads its band, the whole sequence
  // for global layers: keys for S and dQ, values for dP; see PackRows). Rows are packed and their
  // dK/dV accumulators zeroed when they enter the band, and written out as soon as the band has
  // passed them, so for local layers all of it happens while the rows are in cache.
  const KeyValues src{p.k + start * p.ld_in + head_off, p.v + start * p.ld_in + head_off, p.ld_in,
                      false};
  const KeyValues kv{s.kpack, s.vpack, D, true};
  int64_t entered = start;  // key rows [start, entered) are packed with zeroed accumulators
  int64_t written = start;  // key rows [start, written) have their dK/dV written out
  auto write_out = [&](int64_t r1) {
    for (int64_t r = written; r < r1; ++r) {
      std::memcpy(g.dk + r * g.ld_grad + head_off, s.dk + (r - start) * dp, sizeof(float) * D);
      std::memcpy(g.dv + r * g.ld_grad + head_off, s.dv + (r - start) * dp, sizeof(float) * D);
    }
    written = std::max(written, r1);
  };

  for (int64_t q0 = start; q0 < end; q0 += kBQ) {
    const int nq = static_cast<int>(std::min<int64_t>(kBQ, end - q0));
    const int64_t q_end = q0 + nq;
    std::memset(s.qt, 0, sizeof(float) * 3 * D * kBQ);   // qt, dot, dqt
    std::memset(s.qr, 0, sizeof(float) * 2 * kBQ * dp);  // qr, dor
    alignas(64) float dl[kBQ] = {};
    alignas(64) float lse_b[kBQ] = {};
    for (int i = 0; i < nq; ++i) {
      const int64_t n = q0 + i;
      const float* qi = p.q + n * p.ld_in + head_off;
      const float* oi = g.out + n * g.ld_out + head_off;
      const float* gi = g.dout + n * g.ld_out + head_off;
      float* qri = s.qr + i * dp;
      for (int d = 0; d < D; ++d) qri[d] = qi[d] * p.scale;
      std::memcpy(s.dor + i * dp, gi, sizeof(float) * D);
      float acc = 0.0f;
      for (int d = 0; d < D; ++d) acc += gi[d] * oi[d];
      dl[i] = acc;  // Dl_i = rowsum(dout * out) = sum_j P_ij dP_ij
      lse_b[i] = g.lse[n * p.num_heads + h];
    }
    TransposeScaled(s.qr, dp, nq, D, s.ones, s.qt, kBQ);
    TransposeScaled(s.dor, dp, nq, D, s.ones, s.dot, kBQ);
    V dlv[kNV], lsev[kNV];
    for (int v = 0; v < kNV; ++v) {
      dlv[v] = simd::Load(dl + kL * v);
      lsev[v] = simd::Load(lse_b + kL * v);
    }

    int64_t klo, khi;
    BandRange(p, start, end, q0, q_end, &klo, &khi);
    if (khi > entered) {
      const int64_t r0 = entered - start, rows = khi - entered;
      PackRows(src.k + r0 * src.ld, src.ld, rows, D, s.kpack + r0 * D);
      PackRows(src.v + r0 * src.ld, src.ld, rows, D, s.vpack + r0 * D);
      std::memset(s.dk + r0 * dp, 0, sizeof(float) * rows * dp);
      std::memset(s.dv + r0 * dp, 0, sizeof(float) * rows * dp);
      entered = khi;
    }
    PrefetchNextBlock(p.q, p.ld_in, head_off, src, D, start, q0, end, khi);
    PrefetchRows<0>(g.out, g.ld_out, q0 + kBQ, std::min<int64_t>(end, q0 + 2 * kBQ), head_off, D);
    PrefetchRows<0>(g.dout, g.ld_out, q0 + kBQ, std::min<int64_t>(end, q0 + 2 * kBQ), head_off, D);
    for (int64_t c0 = klo; c0 < khi; c0 += kKeyChunk) {
      const int nk = static_cast<int>(std::min<int64_t>(kKeyChunk, khi - c0));
      const float* kc = kv.k + (c0 - start) * kv.ld;
      ScoresT(kc, kv.ld, nk, s.qt, D, s.st);                             // S^T
      ScoresT(kv.v + (c0 - start) * kv.ld, kv.ld, nk, s.dot, D, s.dpt);  // dP^T = V dO^T
      for (int j = 0; j < nk; ++j) {
        const bool masked = RowNeedsMask(q0, c0 + j, p.window);
        for (int v = 0; v < kNV; ++v) {
          float* sp = s.st + j * kBQ + kL * v;
          float* dpp = s.dpt + j * kBQ + kL * v;
          V pr = simd::Exp(simd::Sub(simd::Load(sp), lsev[v]));
          if (masked) pr = simd::MaskZero(KeyMask(q0, v, c0 + j, p.window), pr);
          simd::Store(sp, pr);
          simd::Store(dpp, simd::Mul(pr, simd::Sub(simd::Load(dpp), dlv[v])));  // dS^T
        }
      }
      const int64_t row = c0 - start;
      RowAccum(s.st, nk, nq, s.dor, dp, s.dv + row * dp);  // dV += P^T dO
      RowAccum(s.dpt, nk, nq, s.qr, dp, s.dk + row * dp);  // dK += dS^T (scale Q)
      AccumT(kc, kv.ld, nk, s.dpt, D, s.dqt);              // dQ^T += K^T dS^T
    }
    TransposeScaled(s.dqt, kBQ, D, nq, s.scale_row, g.dq + q0 * g.ld_grad + head_off, g.ld_grad);
    // Keys below the next block's band receive nothing more.
    if (q_end < end) {
      int64_t next_lo, next_hi;
      BandRange(p, start, end, q_end, std::min<int64_t>(end, q_end + kBQ), &next_lo, &next_hi);
      write_out(next_lo);
    }
  }
  write_out(end);
}

}  // namespace

void AttentionBackward(const float* q, const float* k, const float* v, int64_t ld_in,
                       const float* out, const float* dout, int64_t ld_out, const float* lse,
                       float* dq, float* dk, float* dv, int64_t ld_grad, const int32_t* cu_seqlens,
                       int num_seqs, int num_heads, int head_dim, int window, float scale) {
  const Problem p{q, k, v, ld_in, cu_seqlens, num_seqs, num_heads, head_dim, window, scale};
  CheckProblem(p);
  const int64_t C = static_cast<int64_t>(num_heads) * head_dim;
  MBERT_CHECK(ld_out >= C && ld_grad >= C, "ld_out=", ld_out, " ld_grad=", ld_grad);
  MBERT_CHECK(lse != nullptr, "AttentionBackward needs the forward's lse");
  const Grads g{out, dout, ld_out, lse, dq, dk, dv, ld_grad};
  std::vector<Item> items;
  std::vector<int64_t> prefix(1, 0);
  int64_t max_len = 0;
  for (int b = 0; b < num_seqs; ++b) {
    const int64_t start = cu_seqlens[b], end = cu_seqlens[b + 1];
    if (end == start) continue;
    max_len = std::max(max_len, end - start);
    int64_t cost = 0;
    for (int64_t q0 = start; q0 < end; q0 += kBQ) {
      int64_t lo, hi;
      BandRange(p, start, end, q0, std::min<int64_t>(q0 + kBQ, end), &lo, &hi);
      cost += (hi - lo) + kL;
    }
    for (int h = 0; h < num_heads; ++h) {
      items.push_back(Item{b, h, start});
      prefix.push_back(prefix.back() + cost);
    }
  }
  if (items.empty()) return;
  const int threads =
      std::max(1, std::min<int>(omp_get_max_threads(), static_cast<int>(items.size())));
#pragma omp parallel num_threads(threads)
  {
    size_t lo, hi;
    ThreadRange(prefix, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    if (lo < hi) {
      BackwardScratch scratch(head_dim, max_len, scale);
      for (size_t it = lo; it < hi; ++it) {
        const Item& w = items[it];
        BackwardSeqHead(p, g, cu_seqlens[w.seq], cu_seqlens[w.seq + 1], w.head, scratch);
      }
    }
  }
}

}  // namespace mbert::ops
