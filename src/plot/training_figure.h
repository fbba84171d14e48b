// The training-curves figure of `mbert plot`: the top panel holds the training loss (raw, faint,
// and its exponential moving average) and the eval loss (markers and line, thin lines per
// source); the bottom panel the eval accuracy (per source too) with the learning rate on a
// secondary scale. A panel with nothing to show is left out.
#pragma once

#include <string>
#include <vector>

#include "mbert/status.h"
#include "plot/canvas.h"
#include "plot/metrics_log.h"

namespace mbert::plot {

enum class XAxis { kStep, kTokens };

struct FigureOptions {
  int width = 900, height = 600;
  std::string title;
  XAxis x = XAxis::kStep;
  // Weight of the past in the moving average of the loss, in [0, 1); negative: chosen from the
  // number of steps (about 1/30 of them in the window, 0.6 to 0.995).
  double smoothing = -1;
};

constexpr int kMinFigureWidth = 200, kMaxFigureWidth = 10000;
constexpr int kMinFigureHeight = 150, kMaxFigureHeight = 10000;

// An error for sizes outside the bounds above, a smoothing outside [0, 1), or `--x tokens` on a
// log without "tokens_seen".
Result<Canvas> RenderTrainingFigure(const MetricsLog& log, const FigureOptions& options);

// The bias-corrected exponential moving average of `values` with weight `beta` on the past.
std::vector<double> MovingAverage(const std::vector<double>& values, double beta);

}  // namespace mbert::plot
