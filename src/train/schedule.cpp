#include "train/schedule.h"

#include <algorithm>
#include <cmath>

namespace mbert {

Result<LrSchedule> LrSchedule::Create(const LrScheduleConfig& c) {
  if (!(c.peak_lr >= 0.0)) return Status::Error("lr schedule: peak_lr must be >= 0");
  if (c.warmup < 0 || c.decay < 0)
    return Status::Error("lr schedule: warmup and decay lengths must be >= 0");
  if (!(c.alpha_f >= 0.0 && c.alpha_f <= 1.0))
    return Status::Error("lr schedule: alpha_f must be in [0, 1] (the decay phase uses 0.001)");
  if (c.decay > 0) {
    if (c.total < c.decay)
      return Status::Error("lr schedule: total (" + std::to_string(c.total) +
                           ") must be at least the decay length (" + std::to_string(c.decay) +
                           "); set total to the length of the whole schedule");
    if (c.warmup > c.total - c.decay)
      return Status::Error(
          "lr schedule: warmup overlaps the decay phase; need warmup <= total - decay");
  }
  return LrSchedule(c);
}

double LrSchedule::Multiplier(int64_t t) const {
  const LrScheduleConfig& c = config_;
  if (t < c.warmup) {
    constexpr double kAlphaI = 1e-10;
    const double frac = std::min(1.0, static_cast<double>(t) / static_cast<double>(c.warmup));
    return kAlphaI + frac * (1.0 - kAlphaI);
  }
  if (c.decay == 0 || t <= c.total - c.decay) return 1.0;
  const double f = static_cast<double>(t - (c.total - c.decay)) / static_cast<double>(c.decay);
  if (c.shape == DecayShape::kLinear) return std::max(0.0, 1.0 - f * (1.0 - c.alpha_f));
  return std::max(c.alpha_f, c.alpha_f + (1.0 - c.alpha_f) * (1.0 - std::sqrt(f)));
}

Result<DecayShape> ParseDecayShape(const std::string& s) {
  if (s == "linear") return DecayShape::kLinear;
  if (s == "1-sqrt" || s == "one_minus_sqrt" || s == "1_minus_sqrt")
    return DecayShape::kOneMinusSqrt;
  return Status::Error("unknown LR decay shape '" + s + "'; use \"1-sqrt\" or \"linear\"");
}

Result<ScheduleUnit> ParseScheduleUnit(const std::string& s) {
  if (s == "tokens" || s == "tok") return ScheduleUnit::kTokens;
  if (s == "steps" || s == "ba") return ScheduleUnit::kSteps;
  return Status::Error("unknown schedule unit '" + s + "'; use \"tokens\" or \"steps\"");
}

Result<BatchSizeWarmup> BatchSizeWarmup::Create(int min_rows, int max_rows, int64_t warmup_tokens,
                                                int world_size) {
  if (min_rows < 1 || max_rows < min_rows)
    return Status::Error("batch-size warmup: need 1 <= min_rows <= max_rows (got " +
                         std::to_string(min_rows) + ", " + std::to_string(max_rows) + ")");
  if (warmup_tokens < 0) return Status::Error("batch-size warmup: warmup_tokens must be >= 0");
  if (world_size < 1) return Status::Error("batch-size warmup: world_size must be >= 1");
  // W = ceil(total / world_size) tokens per rank.
  const int64_t w = (warmup_tokens + world_size - 1) / world_size;
  int64_t s = 0;
  for (int b = min_rows; b < max_rows; ++b) s += b;
  std::vector<int64_t> th;
  if (s > 0) {
    const double per_unit = static_cast<double>(w) / static_cast<double>(s);  // as the original
    int64_t cum = 0;
    for (int b = min_rows; b < max_rows; ++b) {
      cum += b;
      th.push_back(static_cast<int64_t>(std::ceil(per_unit * static_cast<double>(cum))));
    }
  }
  return BatchSizeWarmup(min_rows, max_rows, w, std::move(th));
}

int BatchSizeWarmup::Rows(int64_t tokens_seen) const {
  if (tokens_seen >= warmup_tokens_) return max_;
  for (size_t i = 0; i < thresholds_.size(); ++i)
    if (tokens_seen < thresholds_[i]) return min_ + static_cast<int>(i);
  return max_;
}

}  // namespace mbert
