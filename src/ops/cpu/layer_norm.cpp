#include "ops/cpu/layer_norm.h"

#include <algorithm>
#include <cmath>

namespace mbert::ops {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// Normalises one row; returns mean and rstd. Two-pass moments in fp32 with vector-lane partial
// sums (the same order for every row of a given length).
inline void NormRow(const float* x, const float* w, float* y, int64_t cols, float eps, float* mean,
                    float* rstd) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < cols; ++c) s += x[c];
  const float m = s / static_cast<float>(cols);
  float v = 0.0f;
#pragma omp simd reduction(+ : v)
  for (int64_t c = 0; c < cols; ++c) {
    const float d = x[c] - m;
    v += d * d;
  }
  const float rs = 1.0f / std::sqrt(v / static_cast<float>(cols) + eps);
#pragma omp simd
  for (int64_t c = 0; c < cols; ++c) y[c] = (x[c] - m) * rs * w[c];
  *mean = m;
  *rstd = rs;
}

}  // namespace

void LayerNormForward(const float* x, int64_t ldx, const float* weight, float* y, int64_t ldy,
                      int64_t rows, int64_t cols, float eps, float* mean, float* rstd) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    float m, rs;
    NormRow(x + r * ldx, weight, y + r * ldy, cols, eps, &m, &rs);
    if (mean != nullptr) mean[r] = m;
    if (rstd != nullptr) rstd[r] = rs;
  }
}

void AddLayerNormForward(float* x, const float* delta, const float* weight, float* y, int64_t rows,
                         int64_t cols, float eps, float* mean, float* rstd) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = x + r * cols;
    const float* dr = delta + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) xr[c] += dr[c];
    float m, rs;
    NormRow(xr, weight, y + r * cols, cols, eps, &m, &rs);
    if (mean != nullptr) mean[r] = m;
    if (rstd != nullptr) rstd[r] = rs;
  }
}

void LayerNormBackward(const float* x, int64_t ldx, const float* weight, const float* mean,
                       const float* rstd, const float* dy, int64_t lddy, float* dx, int64_t lddx,
                       float* dweight, int64_t rows, int64_t cols) {
  const bool parallel = rows * cols >= kParallelMin;
  // dweight first: it reads dy, which dx may overwrite. Columns are split into blocks owned by one
  // thread each, rows summed in order, so the result is deterministic for any thread count and
  // needs no per-thread scratch.
  constexpr int64_t kBlock = 64;
  const int64_t nblocks = (cols + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t b = 0; b < nblocks; ++b) {
    const int64_t c0 = b * kBlock, c1 = std::min(cols, c0 + kBlock);
    // Sums over all N tokens: fp32 partial sums over chunks of rows, flushed into double, keep
    // the fp32 speed with an error that does not grow with N.
    constexpr int64_t kChunk = 256;
    double acc[kBlock] = {};
    for (int64_t r0 = 0; r0 < rows; r0 += kChunk) {
      float part[kBlock] = {};
      for (int64_t r = r0; r < std::min(rows, r0 + kChunk); ++r) {
        const float* xr = x + r * ldx;
        const float* dyr = dy + r * lddy;
        const float m = mean[r], rs = rstd[r];
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) part[c - c0] += dyr[c] * ((xr[c] - m) * rs);
      }
      for (int64_t c = 0; c < kBlock; ++c) acc[c] += part[c];
    }
    for (int64_t c = c0; c < c1; ++c) dweight[c] += static_cast<float>(acc[c - c0]);
  }

#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    const float* dyr = dy + r * lddy;
    float* dxr = dx + r * lddx;
    const float m = mean[r], rs = rstd[r];
    float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t c = 0; c < cols; ++c) {
      const float g = dyr[c] * weight[c];
      sg += g;
      sgx += g * ((xr[c] - m) * rs);
    }
    const float mg = sg / static_cast<float>(cols), mgx = sgx / static_cast<float>(cols);
    // Element c of dy is read before element c of dx is written: safe when dx aliases dy.
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      const float xhat = (xr[c] - m) * rs;
      dxr[c] = rs * (dyr[c] * weight[c] - mg - xhat * mgx);
    }
  }
}

}  // namespace mbert::ops
