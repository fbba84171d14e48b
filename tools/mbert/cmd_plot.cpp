// mbert plot METRICS.jsonl [-o loss.png]: the training curves of a `mbert train` run as a PNG
// (src/plot/): training loss and its moving average, eval loss, eval accuracy and learning rate
// against the step or the tokens seen.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "command.h"
#include "plot/metrics_log.h"
#include "plot/png.h"
#include "plot/training_figure.h"

namespace mbert::cli {

namespace {

struct PlotArgs {
  std::string metrics, output = "loss.png", title, x = "step";
  int width = 900, height = 600;
  double smoothing = -1;
};

int Fail(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return 1;
}

// The run's name for the default title: the directory that holds the metrics file.
std::string RunName(const std::string& metrics) {
  const std::filesystem::path dir = std::filesystem::absolute(metrics).parent_path();
  return dir.filename().empty() ? metrics : dir.filename().string();
}

Status WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Error(path + ": cannot open for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status::Error(path + ": write failed (disk full?)");
  return Status::Ok();
}

int Run(const PlotArgs& a) {
  plot::FigureOptions fo;
  fo.width = a.width;
  fo.height = a.height;
  fo.smoothing = a.smoothing;
  fo.x = a.x == "tokens" ? plot::XAxis::kTokens : plot::XAxis::kStep;
  fo.title = a.title.empty() ? "mbert train: " + RunName(a.metrics) : a.title;
  auto log = plot::ReadMetricsLog(a.metrics);
  if (!log.ok()) return Fail(log.status());
  if (log->skipped_partial_last_line)
    std::cerr
        << "warning: " << a.metrics
        << ": the last line is unfinished (the run is still writing it); plotted without it\n";
  auto canvas = plot::RenderTrainingFigure(log.value(), fo);
  if (!canvas.ok()) return Fail(canvas.status());
  auto png = plot::EncodePng(canvas.value());
  if (!png.ok()) return Fail(png.status());
  if (Status st = WriteBytes(a.output, png.value()); !st.ok()) return Fail(st);
  std::cout << "wrote " << a.output << " (" << fo.width << "x" << fo.height << ": "
            << log->loss.size() << " training steps, " << log->eval_loss.size()
            << " evaluations)\n";
  return 0;
}

}  // namespace

Subcommand AddPlotCommand(CLI::App& root) {
  auto a = std::make_shared<PlotArgs>();
  CLI::App* app = root.add_subcommand(
      "plot", "draw the training curves of a `mbert train` metrics.jsonl as a PNG");
  app->add_option("metrics", a->metrics, "metrics.jsonl of a training run (its output_dir)")
      ->required();
  app->add_option("-o,--output", a->output, "PNG file to write (default loss.png)");
  app->add_option("--title", a->title, "figure title (default: mbert train: <run directory>)");
  app->add_option("--width", a->width, "image width in pixels (default 900)");
  app->add_option("--height", a->height, "image height in pixels (default 600)");
  app->add_option("--x", a->x, "x axis: step (default) or tokens (tokens_seen)")
      ->check(CLI::IsMember({"step", "tokens"}));
  app->add_option("--smoothing", a->smoothing,
                  "weight of the past in the loss's moving average, in [0, 1) (default: from "
                  "the number of steps)");
  return {app, [a]() -> int { return Run(*a); }};
}

}  // namespace mbert::cli
