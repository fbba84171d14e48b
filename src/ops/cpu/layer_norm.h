// LayerNorm without bias (HF nn.LayerNorm(C, eps=1e-5, bias=False), reference §2.2), forward and
// backward, on row-major fp32 rows. Rows are split statically over OpenMP threads; each row is a
// deterministic vectorised pass, so results do not depend on what else is in the batch.
#pragma once

#include <cstdint>

namespace mbert::ops {

// y (rows, cols) = (x - mean) / sqrt(var + eps) * weight, biased variance. mean/rstd (rows) are
// written when non-null (the backward needs them). y may alias x when ldy == ldx.
void LayerNormForward(const float* x, int64_t ldx, const float* weight, float* y, int64_t ldy,
                      int64_t rows, int64_t cols, float eps, float* mean, float* rstd);

// dx (rows, cols) written (dx may alias dy when lddx == lddy); dweight (cols) ACCUMULATED (+=) so a
// caller can sum over micro-batches. mean/rstd are the forward's.
void LayerNormBackward(const float* x, int64_t ldx, const float* weight, const float* mean,
                       const float* rstd, const float* dy, int64_t lddy, float* dx, int64_t lddx,
                       float* dweight, int64_t rows, int64_t cols);

// Fused residual + norm of the encoder's hot path: x += delta (in place), then y = LayerNorm(x),
// all (rows, cols) contiguous. mean/rstd nullable as above.
void AddLayerNormForward(float* x, const float* delta, const float* weight, float* y, int64_t rows,
                         int64_t cols, float eps, float* mean, float* rstd);

}  // namespace mbert::ops
