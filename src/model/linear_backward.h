// Backward of the fp32 linear layer y = x·Wᵀ (+ b), HF layout W (out, in), shared by the encoder
// backward and every head backward (one GEMM convention in one place).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mbert {

// Backward of y (M, O) = x (M, K) · Wᵀ (+ b), scaled by alpha:
//   dW (O, K) += alpha·dyᵀ·x,   db (O) += alpha·Σ_rows dy   (db may be null: no bias),
//   dx (M, K)  = alpha·dy·W     (written, or added when accumulate_dx; dx may be null).
// The bias sum is deterministic (fixed column blocks, rows summed in order).
void LinearBackward(const float* x, int64_t M, int64_t K, const float* W, int64_t O,
                    const float* dy, float* dx, bool accumulate_dx, float* dW, float* db,
                    float alpha = 1.0f);

// dst[k] += src[k] over n floats (residual-stream gradient accumulation).
void AddInto(float* dst, const float* src, size_t n);

}  // namespace mbert
