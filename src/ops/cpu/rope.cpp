// Torch evaluates q*cos + rotate_half(q)*sin as separately rounded products and a rounded sum;
// FMA contraction would change the last bit, so it is off for this file.
#pragma GCC optimize("fp-contract=off")

#include "ops/cpu/rope.h"

#include <cmath>

#include "core/check.h"

namespace mbert::ops {

RopeTable::RopeTable(double theta, int head_dim, int64_t max_positions)
    : theta_(theta), half_(head_dim / 2) {
  MBERT_CHECK(head_dim > 0 && head_dim % 2 == 0, "RoPE head_dim must be even, got ", head_dim);
  inv_freq_.resize(static_cast<size_t>(half_));
  // transformers: 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float) / dim)), all fp32.
  const float base = static_cast<float>(theta);
  for (int j = 0; j < half_; ++j) {
    const float e = static_cast<float>(2 * j) / static_cast<float>(head_dim);
    inv_freq_[j] = 1.0f / std::pow(base, e);
  }
  Ensure(max_positions);
}

void RopeTable::Ensure(int64_t max_positions) {
  if (max_positions <= rows_) return;
  cos_.resize(static_cast<size_t>(max_positions * half_));
  sin_.resize(static_cast<size_t>(max_positions * half_));
  for (int64_t p = rows_; p < max_positions; ++p) {
    for (int j = 0; j < half_; ++j) {
      // freqs = position_ids.float() * inv_freq: one fp32 product; cos/sin of that fp32 value.
      const float angle = static_cast<float>(p) * inv_freq_[j];
      cos_[p * half_ + j] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_[p * half_ + j] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
  rows_ = max_positions;
}

namespace {

// sign +1: forward rotation; -1: rotation by -angle (backward).
template <int kSign>
void Rotate(float* qkv, int64_t ld, const int32_t* positions, int64_t N, int num_heads,
            int head_dim, const RopeTable& table) {
  MBERT_CHECK(table.head_dim() == head_dim, "RoPE table head_dim ", table.head_dim(),
              " != ", head_dim);
  const int half = head_dim / 2;
  const int64_t C = static_cast<int64_t>(num_heads) * head_dim;
  const int64_t max_pos = table.max_positions();
#pragma omp parallel for schedule(static) if (N * C >= (1 << 14))
  for (int64_t n = 0; n < N; ++n) {
    const int64_t pos = positions[n];
    MBERT_CHECK(pos >= 0 && pos < max_pos, "RoPE position ", pos, " outside table of ", max_pos);
    const float* cs = table.cos(pos);
    const float* sn = table.sin(pos);
    for (int64_t h = 0; h < 2 * num_heads; ++h) {  // q heads then k heads: columns [0, 2C)
      float* x = qkv + n * ld + h * head_dim;
#pragma omp simd
      for (int j = 0; j < half; ++j) {
        const float x1 = x[j], x2 = x[j + half];
        const float c = cs[j], s = kSign > 0 ? sn[j] : -sn[j];
        const float a = x1 * c, b = x2 * s;
        const float e = x2 * c, f = x1 * s;
        x[j] = a - b;
        x[j + half] = e + f;
      }
    }
  }
}

}  // namespace

void RopeForward(float* qkv, int64_t ld, const int32_t* positions, int64_t N, int num_heads,
                 int head_dim, const RopeTable& table) {
  Rotate<+1>(qkv, ld, positions, N, num_heads, head_dim, table);
}

void RopeBackward(float* dqkv, int64_t ld, const int32_t* positions, int64_t N, int num_heads,
                  int head_dim, const RopeTable& table) {
  Rotate<-1>(dqkv, ld, positions, N, num_heads, head_dim, table);
}

}  // namespace mbert::ops
