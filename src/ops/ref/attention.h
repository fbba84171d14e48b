// Scalar reference of ModernBERT attention on a packed batch (reference §2.4.4): the oracle for
// src/ops/cpu/attention.cpp and the plain statement of what it computes.
//
// Layout (same as the fast kernel): element (n, h, d) of q/k/v at ptr[n * ld_in + h * D + d], so
// the three may point into the (N, 3*C) fused Wqkv output with ld_in = 3*C (columns t*C + h*D + d).
// Sequences are delimited by cu_seqlens[B+1] (int32) in the flat token dimension N; attention is
// block-diagonal per sequence. window < 0: global (every key of the sequence); window W >= 0: keys
// j with |i - j| <= W (inclusive, positions inside the sequence), as HF's sliding_window_mask and
// flash-attn's window_size = (W, W).
//
// Every row materialises its scores; no tiling, no online softmax, so it reads like the maths.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace mbert::ops::ref {

// Key range [lo, hi) a query at flat index i of the sequence [start, end) attends to.
inline void AttentionKeyRange(int64_t i, int64_t start, int64_t end, int window, int64_t* lo,
                              int64_t* hi) {
  if (window < 0) {
    *lo = start;
    *hi = end;
  } else {
    *lo = std::max<int64_t>(start, i - window);
    *hi = std::min<int64_t>(end, i + window + 1);
  }
}

// out(n, h, :) = sum_j softmax_j(scale * q_n . k_j) v_j over the keys in range.
// lse (optional, (N, H) row-major) = log sum_j exp(scale * q_n . k_j), used by the backward.
template <typename T>
void AttentionForward(const T* q, const T* k, const T* v, int64_t ld_in, T* out, int64_t ld_out,
                      T* lse, const int32_t* cu_seqlens, int num_seqs, int num_heads, int head_dim,
                      int window, T scale) {
  const int D = head_dim;
  std::vector<T> p;
  for (int b = 0; b < num_seqs; ++b) {
    const int64_t start = cu_seqlens[b], end = cu_seqlens[b + 1];
    for (int h = 0; h < num_heads; ++h) {
      for (int64_t i = start; i < end; ++i) {
        int64_t lo, hi;
        AttentionKeyRange(i, start, end, window, &lo, &hi);
        const T* qi = q + i * ld_in + h * D;
        p.assign(static_cast<size_t>(hi - lo), T(0));
        T mx = -INFINITY;
        for (int64_t j = lo; j < hi; ++j) {
          const T* kj = k + j * ld_in + h * D;
          T s = 0;
          for (int d = 0; d < D; ++d) s += qi[d] * kj[d];
          p[j - lo] = s * scale;
          mx = std::max(mx, p[j - lo]);
        }
        T sum = 0;
        for (T& x : p) {
          x = std::exp(x - mx);
          sum += x;
        }
        T* oi = out + i * ld_out + h * D;
        for (int d = 0; d < D; ++d) oi[d] = 0;
        for (int64_t j = lo; j < hi; ++j) {
          const T* vj = v + j * ld_in + h * D;
          const T w = p[j - lo] / sum;
          for (int d = 0; d < D; ++d) oi[d] += w * vj[d];
        }
        if (lse != nullptr) lse[i * num_heads + h] = mx + std::log(sum);
      }
    }
  }
}

// Gradients of the forward above, written (not accumulated) into dq/dk/dv (layout of q/k/v, stride
// ld_grad). out and dout use ld_out; lse is the forward's. With P_ij = exp(scale q_i.k_j - lse_i):
//   Dl_i = sum_d dout_i[d] out_i[d]         (= sum_j P_ij dP_ij)
//   dv_j += P_ij dout_i,  dP_ij = dout_i . v_j,  dS_ij = P_ij (dP_ij - Dl_i),
//   dq_i += scale dS_ij k_j,  dk_j += scale dS_ij q_i.
template <typename T>
void AttentionBackward(const T* q, const T* k, const T* v, int64_t ld_in, const T* out,
                       const T* dout, int64_t ld_out, const T* lse, T* dq, T* dk, T* dv,
                       int64_t ld_grad, const int32_t* cu_seqlens, int num_seqs, int num_heads,
                       int head_dim, int window, T scale) {
  const int D = head_dim;
  for (int b = 0; b < num_seqs; ++b) {
    const int64_t start = cu_seqlens[b], end = cu_seqlens[b + 1];
    for (int64_t n = start; n < end; ++n) {
      for (int h = 0; h < num_heads; ++h) {
        for (int d = 0; d < D; ++d) {
          dq[n * ld_grad + h * D + d] = 0;
          dk[n * ld_grad + h * D + d] = 0;
          dv[n * ld_grad + h * D + d] = 0;
        }
      }
    }
    for (int h = 0; h < num_heads; ++h) {
      for (int64_t i = start; i < end; ++i) {
        int64_t lo, hi;
        AttentionKeyRange(i, start, end, window, &lo, &hi);
        const T* qi = q + i * ld_in + h * D;
        const T* oi = out + i * ld_out + h * D;
        const T* gi = dout + i * ld_out + h * D;
        T dl = 0;
        for (int d = 0; d < D; ++d) dl += gi[d] * oi[d];
        const T lse_i = lse[i * num_heads + h];
        T* dqi = dq + i * ld_grad + h * D;
        for (int64_t j = lo; j < hi; ++j) {
          const T* kj = k + j * ld_in + h * D;
          const T* vj = v + j * ld_in + h * D;
          T s = 0, dp = 0;
          for (int d = 0; d < D; ++d) {
            s += qi[d] * kj[d];
            dp += gi[d] * vj[d];
          }
          const T p = std::exp(s * scale - lse_i);
          const T ds = p * (dp - dl);
          T* dkj = dk + j * ld_grad + h * D;
          T* dvj = dv + j * ld_grad + h * D;
          for (int d = 0; d < D; ++d) {
            dvj[d] += p * gi[d];
            dqi[d] += scale * ds * kj[d];
            dkj[d] += scale * ds * qi[d];
          }
        }
      }
    }
  }
}

}  // namespace mbert::ops::ref
