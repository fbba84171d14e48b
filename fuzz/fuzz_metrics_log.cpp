// libFuzzer target: the metrics.jsonl reader of `mbert plot` (ParseMetricsLog) on arbitrary
// bytes, then, for what it accepts, the whole figure (ticks, layout, lines, font) and the PNG
// encoder. The first byte picks the figure's size and x axis; the rest is the file. Any input
// must give a figure or a Status error; accepted values must be finite; never a crash.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "plot/metrics_log.h"
#include "plot/png.h"
#include "plot/training_figure.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto log = mbert::plot::ParseMetricsLog(text, "fuzz/metrics.jsonl");
  if (!log.ok()) return 0;
  for (const auto* s : {&log->loss, &log->lr, &log->eval_loss, &log->eval_accuracy})
    for (const auto& p : *s)
      if (!std::isfinite(p.value) || p.step < 0) std::abort();
  if (log->empty()) return 0;
  mbert::plot::FigureOptions o;
  o.width = mbert::plot::kMinFigureWidth + (pick & 7) * 40;
  o.height = mbert::plot::kMinFigureHeight + (pick >> 3 & 7) * 30;
  o.x = pick & 64 ? mbert::plot::XAxis::kTokens : mbert::plot::XAxis::kStep;
  o.smoothing = pick & 128 ? 0.9 : -1;
  o.title = "fuzz";
  auto fig = mbert::plot::RenderTrainingFigure(log.value(), o);
  if (!fig.ok()) return 0;
  if (fig->width() != o.width || fig->height() != o.height) std::abort();
  if (!mbert::plot::EncodePng(fig.value()).ok()) std::abort();
  return 0;
}
