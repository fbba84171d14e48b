// Scalar reference LayerNorm without bias (HF nn.LayerNorm(C, eps, bias=False), reference §2.2):
// y = (x - mean) / sqrt(var + eps) * w with the biased (divide-by-cols) variance. Templated on T so
// the double instance is the oracle for src/ops/cpu/layer_norm.cpp and for finite differences.
#pragma once

#include <cmath>
#include <cstdint>

namespace mbert::ops::ref {

// x (rows, cols) with row stride ldx -> y (rows, cols) with row stride ldy; mean/rstd (rows) saved
// for the backward when non-null. Two-pass moments (mean first, then squared deviations).
template <typename T>
void LayerNormForward(const T* x, int64_t ldx, const T* weight, T* y, int64_t ldy, int64_t rows,
                      int64_t cols, T eps, T* mean, T* rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * ldx;
    T s = 0;
    for (int64_t c = 0; c < cols; ++c) s += xr[c];
    const T m = s / static_cast<T>(cols);
    T v = 0;
    for (int64_t c = 0; c < cols; ++c) v += (xr[c] - m) * (xr[c] - m);
    const T rs = T(1) / std::sqrt(v / static_cast<T>(cols) + eps);
    for (int64_t c = 0; c < cols; ++c) y[r * ldy + c] = (xr[c] - m) * rs * weight[c];
    if (mean != nullptr) mean[r] = m;
    if (rstd != nullptr) rstd[r] = rs;
  }
}

// With xhat = (x - mean) * rstd and g = dy * w:
//   dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))   (written)
//   dweight += sum_rows dy * xhat                             (accumulated)
template <typename T>
void LayerNormBackward(const T* x, int64_t ldx, const T* weight, const T* mean, const T* rstd,
                       const T* dy, int64_t lddy, T* dx, int64_t lddx, T* dweight, int64_t rows,
                       int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * ldx;
    const T* dyr = dy + r * lddy;
    T sg = 0, sgx = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const T xhat = (xr[c] - mean[r]) * rstd[r];
      const T g = dyr[c] * weight[c];
      sg += g;
      sgx += g * xhat;
      dweight[c] += dyr[c] * xhat;
    }
    const T mg = sg / static_cast<T>(cols), mgx = sgx / static_cast<T>(cols);
    for (int64_t c = 0; c < cols; ++c) {
      const T xhat = (xr[c] - mean[r]) * rstd[r];
      dx[r * lddx + c] = rstd[r] * (dyr[c] * weight[c] - mg - xhat * mgx);
    }
  }
}

}  // namespace mbert::ops::ref
