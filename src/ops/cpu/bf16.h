// bf16 weights at compute time: expansion to fp32, exact (a bf16 value is the top 16 bits of the
// fp32 with the same value), so a GEMM on expanded weights computes what it would on fp32 weights
// that hold the same values.
#pragma once

#include <cstdint>

namespace mbert::ops {

// dst[i] = fp32(src[i]) for n values, on the calling thread (AVX2: 8 at a time, widened to 32 bits
// and shifted left by 16).
void Bf16ToFloat(const uint16_t* src, int64_t n, float* dst);

// The same, split over the OpenMP threads when n is large enough to pay for it.
void Bf16ToFloatParallel(const uint16_t* src, int64_t n, float* dst);

}  // namespace mbert::ops
