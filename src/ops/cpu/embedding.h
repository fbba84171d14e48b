// Token embedding lookup (reference §2.3) and its gradient, nn.Embedding semantics.
#pragma once

#include <cstdint>

namespace mbert::ops {

// out (N, C) = table[ids[n]], table (V, C). ids must be valid rows (the caller validates input).
void EmbeddingForward(const float* table, int64_t C, const int32_t* ids, int64_t N, float* out);

// The same lookup from a bf16 table (V, C): the gathered rows are expanded to fp32 (exactly).
void EmbeddingForwardBf16(const uint16_t* table, int64_t C, const int32_t* ids, int64_t N,
                          float* out);

// dtable[ids[n]] += dout[n] (ACCUMULATED); rows whose id == padding_idx get no gradient
// (nn.Embedding padding_idx). Deterministic: each thread owns a column block and adds rows in
// order.
void EmbeddingBackward(const float* dout, const int32_t* ids, int64_t N, int64_t C, float* dtable,
                       int32_t padding_idx);

}  // namespace mbert::ops
