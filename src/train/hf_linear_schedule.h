// transformers' get_linear_schedule_with_warmup (the Trainer's default lr_scheduler_type
// "linear"): the multiplier of the peak LR for the optimizer step that has `step` steps before it
// (LambdaLR's last_epoch, 0 for the first step):
//   step < warmup:  step / max(1, warmup)                 (so the very first step runs at lr 0)
//   otherwise:      max(0, (total − step) / max(1, total − warmup))
// Computed in double like Python.
#pragma once

#include <cstdint>

namespace mbert {

double HfLinearScheduleMultiplier(int64_t step, int64_t warmup, int64_t total);

}  // namespace mbert
