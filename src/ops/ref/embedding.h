// Scalar reference token embedding lookup (reference §2.3, nn.Embedding with padding_idx).
#pragma once

#include <cstdint>

namespace mbert::ops::ref {

// out (N, C) = table[ids[n]] with table (V, C).
template <typename T>
void EmbeddingForward(const T* table, int64_t C, const int32_t* ids, int64_t N, T* out) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) out[n * C + c] = table[static_cast<int64_t>(ids[n]) * C + c];
}

// dtable[ids[n]] += dout[n] (accumulated), skipping rows whose id is padding_idx: nn.Embedding
// gives the padding row no gradient.
template <typename T>
void EmbeddingBackward(const T* dout, const int32_t* ids, int64_t N, int64_t C, T* dtable,
                       int32_t padding_idx) {
  for (int64_t n = 0; n < N; ++n) {
    if (ids[n] == padding_idx) continue;
    for (int64_t c = 0; c < C; ++c) dtable[static_cast<int64_t>(ids[n]) * C + c] += dout[n * C + c];
  }
}

}  // namespace mbert::ops::ref
