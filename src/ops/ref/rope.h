// Scalar reference rotary position embedding, rotate-half (GPT-NeoX) convention over all D lanes
// (reference §2.4.3): for j < D/2 with angle a = pos * theta^(-2j/D),
//   out[j] = x[j] cos a - x[j+D/2] sin a,   out[j+D/2] = x[j+D/2] cos a + x[j] sin a.
// Everything in T (double for the oracle); the fp32 kernel's table follows torch's fp32 rounding.
#pragma once

#include <cmath>
#include <cstdint>

namespace mbert::ops::ref {

// Angle in T precision throughout (the mathematical oracle).
template <typename T>
T RopeAngle(double theta, int head_dim, int64_t pos, int j) {
  const T inv =
      T(1) / std::pow(static_cast<T>(theta), static_cast<T>(2 * j) / static_cast<T>(head_dim));
  return static_cast<T>(pos) * inv;
}

// The angle exactly as transformers rounds it in fp32 (inv_freq = 1 / theta^(2j/D) in fp32, one
// fp32 product with the position), returned in T. At position 8191 the fp32 angle is off by up to
// ~5e-4 rad from the exact one; HF parity needs this rounding, so the fp32 kernel is compared with
// a double reference that starts from the same rounded angle.
template <typename T>
T RopeAngleFp32(double theta, int head_dim, int64_t pos, int j) {
  const float e = static_cast<float>(2 * j) / static_cast<float>(head_dim);
  const float inv = 1.0f / std::pow(static_cast<float>(theta), e);
  return static_cast<T>(static_cast<float>(pos) * inv);
}

// Rotates the q and k heads of a (N, ld) qkv buffer in place: q head h at columns [h*D, h*D+D),
// k head h at [C + h*D, ...), C = num_heads * D. sign = +1 forward, -1 backward (rotation by -a,
// the transpose of the forward rotation, applied to the gradient). fp32_angles: use RopeAngleFp32.
template <typename T>
void RopeRotate(T* qkv, int64_t ld, const int32_t* positions, int64_t N, int num_heads,
                int head_dim, double theta, int sign, bool fp32_angles = false) {
  const int half = head_dim / 2;
  const int64_t C = static_cast<int64_t>(num_heads) * head_dim;
  for (int64_t n = 0; n < N; ++n) {
    for (int t = 0; t < 2; ++t) {
      for (int h = 0; h < num_heads; ++h) {
        T* x = qkv + n * ld + t * C + static_cast<int64_t>(h) * head_dim;
        for (int j = 0; j < half; ++j) {
          const T a = fp32_angles ? RopeAngleFp32<T>(theta, head_dim, positions[n], j)
                                  : RopeAngle<T>(theta, head_dim, positions[n], j);
          const T c = std::cos(a), s = sign * std::sin(a);
          const T x1 = x[j], x2 = x[j + half];
          x[j] = x1 * c - x2 * s;
          x[j + half] = x2 * c + x1 * s;
        }
      }
    }
  }
}

template <typename T>
void RopeForward(T* qkv, int64_t ld, const int32_t* positions, int64_t N, int num_heads,
                 int head_dim, double theta, bool fp32_angles = false) {
  RopeRotate(qkv, ld, positions, N, num_heads, head_dim, theta, +1, fp32_angles);
}

template <typename T>
void RopeBackward(T* dqkv, int64_t ld, const int32_t* positions, int64_t N, int num_heads,
                  int head_dim, double theta, bool fp32_angles = false) {
  RopeRotate(dqkv, ld, positions, N, num_heads, head_dim, theta, -1, fp32_angles);
}

}  // namespace mbert::ops::ref
