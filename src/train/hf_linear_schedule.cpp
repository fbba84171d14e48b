#include "train/hf_linear_schedule.h"

#include <algorithm>

namespace mbert {

double HfLinearScheduleMultiplier(int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup)
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  return std::max(0.0, static_cast<double>(total - step) /
                           static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

}  // namespace mbert
