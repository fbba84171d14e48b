#include "ops/cpu/cross_entropy.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "ops/cpu/fast_math.h"

namespace mbert::ops {

float CrossEntropyForwardBackward(const float* logits, int64_t ldl, const int32_t* labels,
                                  int64_t rows, int64_t V, float* dlogits, int64_t lddl,
                                  int32_t ignore_index) {
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (labels[r] == ignore_index) continue;
    MBERT_CHECK(labels[r] >= 0 && labels[r] < V, "label ", labels[r], " at row ", r,
                " outside [0, ", V, ")");
    ++count;
  }
  const float inv_count = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;

  // One partial loss per thread over a static row range, summed in thread order: deterministic.
  const bool parallel = rows * V >= (1 << 16);
  const int nthreads = parallel ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(nthreads), 0.0);
#pragma omp parallel num_threads(nthreads) if (parallel)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
    double acc = 0.0;
    for (int64_t r = r0; r < r1; ++r) {
      const float* l = logits + r * ldl;
      float* d = dlogits != nullptr ? dlogits + r * lddl : nullptr;
      if (labels[r] == ignore_index) {
        if (d != nullptr) std::fill(d, d + V, 0.0f);
        continue;
      }
      float m = -INFINITY;
#pragma omp simd reduction(max : m)
      for (int64_t v = 0; v < V; ++v) m = std::max(m, l[v]);
      const float target = l[labels[r]];  // read before d (which may alias l) is written
      double s = 0.0;
      if (d != nullptr) {
#pragma omp simd reduction(+ : s)
        for (int64_t v = 0; v < V; ++v) {
          const float e = fm::Exp(l[v] - m);
          d[v] = e;
          s += e;
        }
        // softmax / count, minus 1/count at the label.
        const float scale = static_cast<float>(1.0 / s) * inv_count;
#pragma omp simd
        for (int64_t v = 0; v < V; ++v) d[v] *= scale;
        d[labels[r]] -= inv_count;
      } else {
#pragma omp simd reduction(+ : s)
        for (int64_t v = 0; v < V; ++v) s += fm::Exp(l[v] - m);
      }
      acc += std::log(s) + static_cast<double>(m) - static_cast<double>(target);
    }
    partial[static_cast<size_t>(t)] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return count > 0 ? static_cast<float>(total / static_cast<double>(count)) : 0.0f;
}

}  // namespace mbert::ops
