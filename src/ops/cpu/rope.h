// Rotary position embedding, rotate-half (GPT-NeoX) convention over all D lanes (reference §2.4.3):
// for j < D/2, out[j] = x[j]*cos_j - x[j+D/2]*sin_j ; out[j+D/2] = x[j+D/2]*cos_j + x[j]*sin_j.
// The table reproduces transformers' fp32 arithmetic so rotated q/k match HF bit for bit.
#pragma once

#include <cstdint>
#include <vector>

namespace mbert::ops {

// cos/sin (max_positions, D/2) for one theta, computed like transformers 5.x
// ModernBertRotaryEmbedding in fp32: inv_freq_j = 1 / theta^((2j)/D) (float pow and division),
// angle = float(pos) * inv_freq_j (one fp32 multiply), cos/sin of that fp32 angle rounded to fp32.
class RopeTable {
 public:
  RopeTable(double theta, int head_dim, int64_t max_positions);
  // Grows the table to at least max_positions rows (never shrinks). Not thread-safe: call before
  // the kernels that read the table.
  void Ensure(int64_t max_positions);
  const float* cos(int64_t pos) const { return cos_.data() + pos * half_; }
  const float* sin(int64_t pos) const { return sin_.data() + pos * half_; }
  int head_dim() const { return 2 * half_; }
  int64_t max_positions() const { return rows_; }
  double theta() const { return theta_; }
  const std::vector<float>& inv_freq() const { return inv_freq_; }

 private:
  double theta_;
  int half_;
  int64_t rows_ = 0;
  std::vector<float> inv_freq_;   // (D/2)
  std::vector<float> cos_, sin_;  // (rows_, D/2)
};

// Rotates q and k in place inside the (N, ld) qkv buffer: q head h at columns [h*D, h*D+D), k head
// h at [C + h*D, ...), C = num_heads * D. positions[N] restart at 0 per sequence and must be below
// table.max_positions(). Products and sum are rounded separately like torch's
// q*cos + rotate_half(q)*sin (no FMA contraction).
void RopeForward(float* qkv, int64_t ld, const int32_t* positions, int64_t N, int num_heads,
                 int head_dim, const RopeTable& table);

// Backward = rotation by -angle (the transpose), applied in place to dq and dk inside a (N, ld)
// dqkv buffer laid out like qkv.
void RopeBackward(float* dqkv, int64_t ld, const int32_t* positions, int64_t N, int num_heads,
                  int head_dim, const RopeTable& table);

}  // namespace mbert::ops
