// Scalar reference exact-erf GELU (HF "gelu" = torch.nn.functional.gelu default, reference §2.4.6)
// and GeGLU (reference §2.4.5: u = [input | gate], y = gelu(input) * gate).
#pragma once

#include <cmath>
#include <cstdint>

namespace mbert::ops::ref {

// Phi(x) = 0.5 (1 + erf(x/sqrt 2)) written as 0.5 erfc(-x/sqrt 2): equal in exact arithmetic, but
// 1 + erf(...) cancels to 0 in double below x ~ -8, where erfc keeps full relative precision.
template <typename T>
T NormalCdf(T x) {
  return T(0.5) * std::erfc(-x / std::sqrt(T(2)));
}

template <typename T>
T Gelu(T x) {
  return x * NormalCdf(x);
}

// d/dx gelu(x) = Phi(x) + x phi(x).
template <typename T>
T GeluGrad(T x) {
  const T pi = T(3.141592653589793238462643383279502884L);
  const T cdf = NormalCdf(x);
  const T pdf = std::exp(-T(0.5) * x * x) / std::sqrt(T(2) * pi);
  return cdf + x * pdf;
}

template <typename T>
void GeluForward(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = Gelu(x[i]);
}

template <typename T>
void GeluBackward(const T* x, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * GeluGrad(x[i]);
}

// u (N, 2I) = [input | gate] -> y (N, I) = gelu(input) * gate.
template <typename T>
void GegluForward(const T* u, T* y, int64_t N, int64_t I) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < I; ++i) y[n * I + i] = Gelu(u[n * 2 * I + i]) * u[n * 2 * I + I + i];
}

// du (N, 2I) written: d input = dy * gate * gelu'(input), d gate = dy * gelu(input).
template <typename T>
void GegluBackward(const T* u, const T* dy, T* du, int64_t N, int64_t I) {
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t i = 0; i < I; ++i) {
      const T in = u[n * 2 * I + i], gate = u[n * 2 * I + I + i], g = dy[n * I + i];
      du[n * 2 * I + i] = g * gate * GeluGrad(in);
      du[n * 2 * I + I + i] = g * Gelu(in);
    }
  }
}

}  // namespace mbert::ops::ref
