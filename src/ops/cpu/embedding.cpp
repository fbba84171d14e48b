#include "ops/cpu/embedding.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "ops/cpu/bf16.h"

namespace mbert::ops {

void EmbeddingForward(const float* table, int64_t C, const int32_t* ids, int64_t N, float* out) {
#pragma omp parallel for schedule(static) if (N * C >= (1 << 16))
  for (int64_t n = 0; n < N; ++n) {
    MBERT_CHECK(ids[n] >= 0, "negative token id ", ids[n], " at ", n);
    std::memcpy(out + n * C, table + static_cast<int64_t>(ids[n]) * C,
                static_cast<size_t>(C) * sizeof(float));
  }
}

void EmbeddingForwardBf16(const uint16_t* table, int64_t C, const int32_t* ids, int64_t N,
                          float* out) {
#pragma omp parallel for schedule(static) if (N * C >= (1 << 16))
  for (int64_t n = 0; n < N; ++n) {
    MBERT_CHECK(ids[n] >= 0, "negative token id ", ids[n], " at ", n);
    Bf16ToFloat(table + static_cast<int64_t>(ids[n]) * C, C, out + n * C);
  }
}

void EmbeddingBackward(const float* dout, const int32_t* ids, int64_t N, int64_t C, float* dtable,
                       int32_t padding_idx) {
  // Repeated ids make a row-parallel scatter racy; splitting columns keeps every add in row order.
  constexpr int64_t kBlock = 64;
  const int64_t nblocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (N * C >= (1 << 16))
  for (int64_t b = 0; b < nblocks; ++b) {
    const int64_t c0 = b * kBlock, c1 = std::min(C, c0 + kBlock);
    for (int64_t n = 0; n < N; ++n) {
      if (ids[n] == padding_idx) continue;
      float* dst = dtable + static_cast<int64_t>(ids[n]) * C;
      const float* src = dout + n * C;
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  }
}

}  // namespace mbert::ops
