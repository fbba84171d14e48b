// The numerical guard at the tasks' outputs: NaN or Inf never leaves the library as a result.
#include <cmath>
#include <string>

#include "tasks/run.h"

namespace mbert::tasks {

Status CheckFinite(const Context& ctx, size_t i, const float* v, int64_t n, const char* what) {
  for (int64_t k = 0; k < n; ++k) {
    if (std::isfinite(v[k])) continue;
    return Status::Error(InputName(ctx, i) + ": non-finite " + what + " (" +
                         (std::isnan(v[k]) ? "NaN" : "Inf") + " at " + std::to_string(k) +
                         "): the model computes NaN/Inf activations; check " +
                         ctx.model().info().path +
                         " for NaN/Inf weights and absurd config values (e.g. rope_theta)");
  }
  return Status::Ok();
}

}  // namespace mbert::tasks
