#include "plot/training_figure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "plot/chart.h"

namespace mbert::plot {

namespace {

constexpr Rgb kLossColor{31, 119, 180};
constexpr Rgb kEvalColor{230, 110, 20};
constexpr Rgb kAccuracyColor{44, 160, 44};
constexpr Rgb kLrColor{140, 140, 140};
// Per-source series, in turn.
constexpr Rgb kSourceColors[] = {{148, 103, 189}, {214, 39, 40},  {140, 86, 75},
                                 {227, 119, 194}, {23, 190, 207}, {188, 189, 34}};

struct Xs {
  const MetricsLog& log;
  XAxis axis;
  std::vector<double> operator()(const MetricSeries& s) const {
    std::vector<double> x;
    for (const MetricPoint& p : s)
      x.push_back(axis == XAxis::kTokens ? TokensAtStep(log, p.step) : static_cast<double>(p.step));
    return x;
  }
};

std::vector<double> Values(const MetricSeries& s) {
  std::vector<double> v;
  for (const MetricPoint& p : s) v.push_back(p.value);
  return v;
}

Series Make(std::string label, const MetricSeries& s, const Xs& xs, Rgb color, double width,
            double marker) {
  Series out;
  out.label = std::move(label);
  out.x = xs(s);
  out.y = Values(s);
  out.color = color;
  out.line_width = width;
  out.marker_radius = marker;
  return out;
}

std::string Format(const char* fmt, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

}  // namespace

std::vector<double> MovingAverage(const std::vector<double>& values, double beta) {
  std::vector<double> out;
  double avg = 0, weight = 0;
  for (double v : values) {
    if (!std::isfinite(v)) {
      out.push_back(v);  // a gap in the raw curve is a gap in the average too
      continue;
    }
    avg = beta * avg + (1 - beta) * v;
    weight = beta * weight + (1 - beta);
    out.push_back(avg / weight);
  }
  return out;
}

Result<Canvas> RenderTrainingFigure(const MetricsLog& log, const FigureOptions& o) {
  if (o.width < kMinFigureWidth || o.width > kMaxFigureWidth)
    return Status::Error("--width must be in [" + std::to_string(kMinFigureWidth) + ", " +
                         std::to_string(kMaxFigureWidth) + "], got " + std::to_string(o.width));
  if (o.height < kMinFigureHeight || o.height > kMaxFigureHeight)
    return Status::Error("--height must be in [" + std::to_string(kMinFigureHeight) + ", " +
                         std::to_string(kMaxFigureHeight) + "], got " + std::to_string(o.height));
  if (o.smoothing >= 1 || std::isnan(o.smoothing))
    return Status::Error("--smoothing must be in [0, 1) (0: no smoothing), got " +
                         Format("%g", o.smoothing));
  if (o.x == XAxis::kTokens && log.tokens_seen.empty())
    return Status::Error(
        "--x tokens: no line of the metrics file has \"tokens_seen\" (written by `mbert train` "
        "for every step); plot by step instead (--x step)");
  const Xs xs{log, o.x};

  Panel losses;
  losses.y_label = "loss";
  losses.weight = 3;
  if (!log.loss.empty()) {
    const double beta = o.smoothing >= 0
                            ? o.smoothing
                            : std::clamp(1 - 1 / std::max(1.0, log.loss.size() / 30.0), 0.6, 0.995);
    losses.series.push_back(Make("", log.loss, xs, Lighten(kLossColor, 0.65), 1, 0));
    Series ema =
        Make("train loss (EMA " + Format("%.3g", beta) + ")", log.loss, xs, kLossColor, 2.5, 0);
    ema.y = MovingAverage(ema.y, beta);
    losses.series.push_back(std::move(ema));
  }
  size_t color = 0;
  for (const auto& [source, s] : log.eval_loss_by_source)
    losses.series.push_back(Make("eval " + source, s, xs, kSourceColors[color++ % 6], 1.2, 0));
  if (!log.eval_loss.empty())
    losses.series.push_back(Make("eval loss", log.eval_loss, xs, kEvalColor, 2, 4));

  Panel accuracy;
  accuracy.y_label = "eval accuracy";
  accuracy.y_from_zero = true;
  accuracy.weight = 2;
  color = 0;
  for (const auto& [source, s] : log.eval_accuracy_by_source)
    accuracy.series.push_back(Make("acc " + source, s, xs, kSourceColors[color++ % 6], 1.2, 0));
  if (!log.eval_accuracy.empty())
    accuracy.series.push_back(Make("eval accuracy", log.eval_accuracy, xs, kAccuracyColor, 2, 4));
  if (!log.lr.empty()) {
    Series lr = Make("learning rate", log.lr, xs, kLrColor, 1.5, 0);
    // With no accuracy to show, the learning rate takes the left axis.
    lr.right_axis = !accuracy.series.empty();
    if (lr.right_axis)
      accuracy.right_label = "learning rate";
    else
      accuracy.y_label = "learning rate";
    accuracy.series.push_back(std::move(lr));
  }

  std::vector<Panel> panels;
  if (!losses.series.empty()) panels.push_back(std::move(losses));
  if (!accuracy.series.empty()) panels.push_back(std::move(accuracy));
  if (panels.empty()) return Status::Error("nothing to plot: no loss, eval loss, accuracy or lr");
  ChartOptions co;
  co.width = o.width;
  co.height = o.height;
  co.title = o.title;
  co.x_label = o.x == XAxis::kTokens ? "tokens seen" : "step";
  return RenderChart(panels, co);
}

}  // namespace mbert::plot
