// The metrics.jsonl that `mbert train` (and fine-tuning) writes, read back for plotting. One JSON
// object a line: training steps {"step":10,"loss":7.1,"grad_norm":..,"lr":..,"tokens_seen":..}
// and evaluations {"step":50,"eval_loss":6.9,"eval_accuracy":0.12}, optionally per source
// ("eval_loss/<source>", "eval_accuracy/<source>"); fine-tuning's {"step":..,"eval":{"loss":..,
// "accuracy":..}} counts as eval_loss and eval_accuracy. Other fields are ignored; a null value
// (a NaN the trainer wrote) is a gap, not an error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mbert/status.h"

namespace mbert::plot {

struct MetricPoint {
  int64_t step = 0;
  double value = 0;
};
using MetricSeries = std::vector<MetricPoint>;

struct MetricsLog {
  MetricSeries loss, lr, eval_loss, eval_accuracy;
  MetricSeries tokens_seen;  // training steps' tokens_seen: the x of `--x tokens`
  std::map<std::string, MetricSeries> eval_loss_by_source, eval_accuracy_by_source;
  // An unfinished last line (no newline, not yet valid JSON: the trainer is still writing it)
  // is skipped and noted here rather than refused.
  bool skipped_partial_last_line = false;

  bool empty() const;  // nothing to plot: no loss, eval loss, eval accuracy or lr
};

// Parses the text of a metrics file; `origin` (its path) starts every error message, which names
// the line: "runs/x/metrics.jsonl:3: not JSON (...)".
Result<MetricsLog> ParseMetricsLog(std::string_view text, const std::string& origin);
// Reads and parses `path`; an error if it is missing, unreadable or holds nothing to plot.
Result<MetricsLog> ReadMetricsLog(const std::string& path);

// The tokens seen by `step`: exact for a training step, interpolated between the training steps
// around it otherwise (an evaluation at a step whose line is missing), 0 at step 0.
double TokensAtStep(const MetricsLog& log, int64_t step);

}  // namespace mbert::plot
