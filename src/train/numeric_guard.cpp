#include "train/numeric_guard.h"

#include <cmath>

namespace mbert {

Result<double> FiniteGradientNorm(const TensorTable& grads, const std::vector<ParamSpec>& order,
                                  const std::string& context) {
  double sq = 0.0;
  for (const ParamSpec& p : order) {
    auto it = grads.find(p.name);
    if (it == grads.end()) continue;
    const float* d = it->second.data();
    const int64_t n = it->second.numel();
    // Squares of finite floats stay finite in double (at most ~1e77), so a non-finite sum means
    // a non-finite element.
    double ss = 0.0;
#pragma omp parallel for reduction(+ : ss) schedule(static) if (n > (int64_t{1} << 16))
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(d[i]) * d[i];
    if (!std::isfinite(ss)) {
      int64_t bad = 0;
      while (bad < n && std::isfinite(d[bad])) ++bad;
      return Status::Error(context + ": the gradient of '" + p.name + "' is not finite (" +
                           (bad < n ? std::to_string(d[bad]) : std::string("?")) + " at element " +
                           std::to_string(bad) + " of " + std::to_string(n) + ")");
    }
    sq += ss;
  }
  return std::sqrt(sq);
}

}  // namespace mbert
