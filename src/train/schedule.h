// Learning-rate and batch-size schedules of the ModernBERT recipe (reference §5.3, §3.5).
//
// Time t is a count in the schedule's unit: non-pad tokens seen so far (Composer counts tokens
// without padding, `count_padding_tokens: false`) or optimizer steps. The trainer passes the
// count completed before the step whose LR it asks for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert {

enum class ScheduleUnit { kTokens, kSteps };
enum class DecayShape { kLinear, kOneMinusSqrt };

// Warmup-stable-decay ("modified trapezoidal", paper §2.2.2) multiplier of the peak LR:
//   t < warmup:                 1e-10 + (1 − 1e-10)·t/warmup   (Composer LinearScheduler,
//                                                                alpha_i = 1e-10, alpha_f = 1)
//   t < total − decay:          1
//   otherwise, f = (t − (total − decay))/decay:
//     kLinear:       max(0, 1 − f·(1 − alpha_f))                    (ModernBERT WSD scheduler)
//     kOneMinusSqrt: max(alpha_f, alpha_f + (1 − alpha_f)(1 − sqrt(f)))  (OneMinusSqrtScheduler)
// decay = 0 means no decay phase (the pre-training phase: warmup then constant).
struct LrScheduleConfig {
  double peak_lr = 8e-4;
  ScheduleUnit unit = ScheduleUnit::kTokens;
  int64_t warmup = 0;  // in `unit`
  int64_t decay = 0;   // length of the decay phase, in `unit`
  int64_t total = 0;   // t_max: the decay ends here (needed when decay > 0)
  double alpha_f = 0.0;
  DecayShape shape = DecayShape::kOneMinusSqrt;
};

class LrSchedule {
 public:
  // Validates: warmup, decay >= 0; decay > 0 needs total >= decay and warmup <= total − decay;
  // alpha_f in [0, 1]; peak_lr >= 0.
  static Result<LrSchedule> Create(const LrScheduleConfig& config);
  // Multiplier of peak_lr at time t (t >= 0).
  double Multiplier(int64_t t) const;
  double Lr(int64_t t) const { return config_.peak_lr * Multiplier(t); }
  const LrScheduleConfig& config() const { return config_; }

 private:
  explicit LrSchedule(const LrScheduleConfig& c) : config_(c) {}
  LrScheduleConfig config_;
};

// Parses "linear" / "1-sqrt" (also "one_minus_sqrt") and "tokens"/"tok" / "steps"/"ba".
Result<DecayShape> ParseDecayShape(const std::string& s);
Result<ScheduleUnit> ParseScheduleUnit(const std::string& s);

// Batch-size warmup in whole packed rows (reference §3.5, the original BatchSizeWarmupScheduler):
// the rows per optimizer step grow from min_rows to max_rows over `warmup_tokens` non-pad tokens
// per rank (ceil(total / world_size)). Thresholds: S = Σ_{b=min}^{max−1} b, and for the k-th size
// b_k = min + k − 1, threshold_k = ceil(W/S · Σ_{b=min}^{b_k} b). The span of tokens spent at size
// b is proportional to b, so every size gets the same number of optimizer steps.
class BatchSizeWarmup {
 public:
  static Result<BatchSizeWarmup> Create(int min_rows, int max_rows, int64_t warmup_tokens,
                                        int world_size = 1);
  // Rows for the next batch given the non-pad tokens this rank has already emitted.
  int Rows(int64_t tokens_seen) const;
  const std::vector<int64_t>& thresholds() const { return thresholds_; }
  int64_t warmup_tokens_per_rank() const { return warmup_tokens_; }

 private:
  BatchSizeWarmup(int min_rows, int max_rows, int64_t w, std::vector<int64_t> th)
      : min_(min_rows), max_(max_rows), warmup_tokens_(w), thresholds_(std::move(th)) {}
  int min_ = 1, max_ = 1;
  int64_t warmup_tokens_ = 0;
  std::vector<int64_t> thresholds_;
};

}  // namespace mbert
