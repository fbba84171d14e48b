#include "ops/cpu/gelu.h"

#include "ops/cpu/fast_math.h"

namespace mbert::ops {
namespace {

using fm::kLanes;
using fm::VecF;

constexpr int64_t kParallelMin = 1 << 14;

inline VecF Gelu(VecF x) { return x * fm::NormalCdf(x); }
// d/dx x Phi(x) = Phi(x) + x phi(x).
inline VecF GeluGrad(VecF x) { return fm::NormalCdf(x) + x * fm::NormalPdf(x); }

// Applies body(offset, count) to [0, n) in blocks of kLanes and one shorter tail;
// blocks are split statically over threads when n is large.
template <typename Body>
void ForBlocks(int64_t n, Body body) {
  const int64_t blocks = n / kLanes;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) body(b * kLanes, kLanes);
  if (n % kLanes != 0) body(blocks * kLanes, n % kLanes);
}

// One row of I lanes: full blocks, then the tail.
template <typename Body>
inline void ForRow(int64_t I, Body body) {
  int64_t i = 0;
  for (; i + kLanes <= I; i += kLanes) body(i, kLanes);
  if (i < I) body(i, I - i);
}

inline VecF LoadN(const float* p, int64_t n) {
  return n == kLanes ? fm::Load(p) : fm::LoadPartial(p, n, 0.0f);
}
inline void StoreN(float* p, VecF v, int64_t n) {
  if (n == kLanes) {
    fm::Store(p, v);
  } else {
    fm::StorePartial(p, v, n);
  }
}

}  // namespace

void GeluForward(const float* x, float* y, int64_t n) {
  ForBlocks(n, [&](int64_t i, int64_t c) { StoreN(y + i, Gelu(LoadN(x + i, c)), c); });
}

void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) {
  ForBlocks(n, [&](int64_t i, int64_t c) {
    StoreN(dx + i, LoadN(dy + i, c) * GeluGrad(LoadN(x + i, c)), c);
  });
}

void GegluForward(const float* u, float* y, int64_t N, int64_t I) {
#pragma omp parallel for schedule(static) if (N * I >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const float* in = u + n * 2 * I;
    const float* gate = in + I;
    float* yr = y + n * I;
    ForRow(I, [&](int64_t i, int64_t c) {
      StoreN(yr + i, Gelu(LoadN(in + i, c)) * LoadN(gate + i, c), c);
    });
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
    ForRow(I, [&](int64_t i, int64_t c) {
      const VecF x = LoadN(in + i, c), gi = LoadN(g + i, c);
      const VecF cdf = fm::NormalCdf(x);
      StoreN(din + i, gi * LoadN(gate + i, c) * (cdf + x * fm::NormalPdf(x)), c);
      StoreN(dgate + i, gi * (x * cdf), c);
    });
  }
}

}  // namespace mbert::ops
