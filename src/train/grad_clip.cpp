#include "train/grad_clip.h"

#include <cmath>

namespace mbert {

double ClipGradNorm(const std::vector<TensorTable*>& grads, double max_norm) {
  double sum = 0.0;
  for (const TensorTable* table : grads) {
    for (const auto& [name, g] : *table) {
      const float* d = g.data();
      double s = 0.0;
      for (int64_t i = 0; i < g.numel(); ++i) s += static_cast<double>(d[i]) * d[i];
      sum += s;
    }
  }
  const double total = std::sqrt(sum);
  if (max_norm <= 0.0) return total;
  const float coef = static_cast<float>(max_norm) / (static_cast<float>(total) + 1e-6f);
  if (coef < 1.0f) {
    for (TensorTable* table : grads) {
      for (auto& [name, g] : *table) {
        float* d = g.data();
        for (int64_t i = 0; i < g.numel(); ++i) d[i] *= coef;
      }
    }
  }
  return total;
}

}  // namespace mbert
