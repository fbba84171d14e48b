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
                                  int32_t ignore_index, int64_t* correct) {
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
  std::vector<int64_t> hits(static_cast<size_t>(nthreads), 0);
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
      // Row max, kLanes at a time (tail padded with -inf).
      fm::VecF mv = fm::Splat(-INFINITY);
      int64_t v = 0;
      for (; v + fm::kLanes <= V; v += fm::kLanes) {
        const fm::VecF x = fm::Load(l + v);
        mv = x > mv ? x : mv;
      }
      if (v < V) {
        const fm::VecF x = fm::LoadPartial(l + v, V - v, -INFINITY);
        mv = x > mv ? x : mv;
      }
      float m = mv[0];
      for (int i = 1; i < fm::kLanes; ++i) m = std::max(m, mv[i]);
      const float target = l[labels[r]];  // read before d (which may alias l) is written
      if (correct != nullptr && target == m) {
        // The label is an argmax; it is THE argmax when no earlier column reaches the maximum.
        const int64_t lab = labels[r];
        int64_t j = 0;
        while (j < lab && l[j] != m) ++j;
        hits[static_cast<size_t>(t)] += j == lab;
      }
      // Sum of exp(l - m) with one double accumulator per lane (fixed order: deterministic).
      using VecD = double __attribute__((vector_size(8 * fm::kLanes)));
      VecD sum = {};
      auto accumulate = [&sum](fm::VecF e) { sum += __builtin_convertvector(e, VecD); };
      for (v = 0; v + fm::kLanes <= V; v += fm::kLanes) {
        const fm::VecF e = fm::Exp(fm::Load(l + v) - m);
        if (d != nullptr) fm::Store(d + v, e);
        accumulate(e);
      }
      if (v < V) {
        const fm::VecF e = fm::Exp(fm::LoadPartial(l + v, V - v, -INFINITY) - m);  // pad lanes: 0
        if (d != nullptr) fm::StorePartial(d + v, e, V - v);
        accumulate(e);
      }
      double s = 0.0;
      for (int i = 0; i < fm::kLanes; ++i) s += sum[i];
      if (d != nullptr) {
        // softmax / count, minus 1/count at the label.
        const float scale = static_cast<float>(1.0 / s) * inv_count;
#pragma omp simd
        for (int64_t j = 0; j < V; ++j) d[j] *= scale;
        d[labels[r]] -= inv_count;
      }
      acc += std::log(s) + static_cast<double>(m) - static_cast<double>(target);
    }
    partial[static_cast<size_t>(t)] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  if (correct != nullptr) {
    *correct = 0;
    for (int64_t h : hits) *correct += h;
  }
  return count > 0 ? static_cast<float>(total / static_cast<double>(count)) : 0.0f;
}

}  // namespace mbert::ops
