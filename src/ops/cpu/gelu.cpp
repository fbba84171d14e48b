#include "ops/cpu/gelu.h"

#include "ops/cpu/fast_math.h"

namespace mbert::ops {
namespace {

constexpr int64_t kParallelMin = 1 << 14;

inline float Gelu(float x) { return x * fm::NormalCdf(x); }
// d/dx x Phi(x) = Phi(x) + x phi(x).
inline float GeluGrad(float x) { return fm::NormalCdf(x) + x * fm::NormalPdf(x); }

}  // namespace

void GeluForward(const float* x, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = Gelu(x[i]);
}

void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * GeluGrad(x[i]);
}

void GegluForward(const float* u, float* y, int64_t N, int64_t I) {
#pragma omp parallel for schedule(static) if (N * I >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const float* in = u + n * 2 * I;
    const float* gate = in + I;
    float* yr = y + n * I;
#pragma omp simd
    for (int64_t i = 0; i < I; ++i) yr[i] = Gelu(in[i]) * gate[i];
  }
}

void GegluBackward(const float* u, const float* dy, float* du, int64_t N, int64_t I) {
#pragma omp parallel for schedule(static) if (N * I >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const float* in = u + n * 2 * I;
    const float* gate = in + I;
    const float* g = dy + n * I;
    float* din = du + n * 2 * I;
    float* dgate = din + I;
#pragma omp simd
    for (int64_t i = 0; i < I; ++i) {
      const float x = in[i];
      const float cdf = fm::NormalCdf(x);
      din[i] = g[i] * gate[i] * (cdf + x * fm::NormalPdf(x));
      dgate[i] = g[i] * (x * cdf);
    }
  }
}

}  // namespace mbert::ops
