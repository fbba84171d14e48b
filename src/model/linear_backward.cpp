#include "model/linear_backward.h"

#include <algorithm>

#include "ops/cpu/gemm.h"

namespace mbert {

void LinearBackward(const float* x, int64_t M, int64_t K, const float* W, int64_t O,
                    const float* dy, float* dx, bool accumulate_dx, float* dW, float* db,
                    float alpha) {
  ops::Gemm(true, false, O, K, M, alpha, dy, O, x, K, 1.0f, dW, K);
  if (db != nullptr) {
    // Column blocks of 256 (one per task), rows summed in order inside each: deterministic, and
    // the inner loop runs along a row (contiguous, vectorised).
    constexpr int64_t kBlock = 256;
    const int64_t nblocks = (O + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (M * O >= (1 << 16))
    for (int64_t blk = 0; blk < nblocks; ++blk) {
      const int64_t o0 = blk * kBlock, o1 = std::min(O, o0 + kBlock);
      float s[kBlock] = {};
      for (int64_t r = 0; r < M; ++r) {
        const float* row = dy + r * O;
#pragma omp simd
        for (int64_t o = o0; o < o1; ++o) s[o - o0] += row[o];
      }
      for (int64_t o = o0; o < o1; ++o) db[o] += alpha * s[o - o0];
    }
  }
  if (dx != nullptr)
    ops::Gemm(false, false, M, K, O, alpha, dy, O, W, K, accumulate_dx ? 1.0f : 0.0f, dx, K);
}

void AddInto(float* dst, const float* src, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t k = 0; k < n; ++k) dst[k] += src[k];
}

}  // namespace mbert
