// Scalar reference softmax cross-entropy with ignore_index and mean reduction over the kept rows
// (torch.nn.functional.cross_entropy(reduction="mean", ignore_index=-100), HF ForMaskedLM loss).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace mbert::ops::ref {

// logits (rows, V) with row stride ldl; returns the mean loss over rows with label != ignore_index
// (0 when there are none) and, if dlogits is non-null, writes d(loss)/d(logits) (zero rows for
// ignored labels).
template <typename T>
T CrossEntropyForwardBackward(const T* logits, int64_t ldl, const int32_t* labels, int64_t rows,
                              int64_t V, T* dlogits, int64_t lddl, int32_t ignore_index = -100) {
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r) count += labels[r] != ignore_index;
  T total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* l = logits + r * ldl;
    T* d = dlogits != nullptr ? dlogits + r * lddl : nullptr;
    if (labels[r] == ignore_index) {
      if (d != nullptr) std::fill(d, d + V, T(0));
      continue;
    }
    const T m = *std::max_element(l, l + V);
    T s = 0;
    for (int64_t v = 0; v < V; ++v) s += std::exp(l[v] - m);
    total += std::log(s) + m - l[labels[r]];
    if (d != nullptr) {
      for (int64_t v = 0; v < V; ++v) d[v] = std::exp(l[v] - m) / s / static_cast<T>(count);
      d[labels[r]] -= T(1) / static_cast<T>(count);
    }
  }
  return count > 0 ? total / static_cast<T>(count) : T(0);
}

}  // namespace mbert::ops::ref
