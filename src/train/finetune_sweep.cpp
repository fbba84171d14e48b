#include "train/finetune_sweep.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/file_io.h"
#include "core/safetensors.h"

namespace mbert {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// %g without the exponent's sign padding and leading zeros: 1e-05 -> 1e-5, 1e+10 -> 1e10.
std::string ShortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  std::string s = buf;
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  std::string sign;
  if (exponent[0] == '-' || exponent[0] == '+') {
    if (exponent[0] == '-') sign = "-";
    exponent.erase(0, 1);
  }
  exponent.erase(0, exponent.find_first_not_of('0'));
  return mantissa + "e" + sign + exponent;
}

// Whether `v` beats `best`: a number beats NaN, NaN beats nothing.
bool Beats(double v, double best) { return !std::isnan(v) && (std::isnan(best) || v > best); }

// Replaces out/best with a copy of `src` (hard links where possible), via out/.best.tmp.
Status PublishBestCopy(const std::string& src, const std::string& out) {
  const std::string tmp = out + "/.best.tmp", final_dir = out + "/best";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::copy(src, tmp, fs::copy_options::recursive | fs::copy_options::create_hard_links, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    fs::copy(src, tmp, fs::copy_options::recursive, ec);
  }
  if (ec) return Status::Error(tmp + ": cannot copy " + src + ": " + ec.message());
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return Status::Error(final_dir + ": cannot publish: " + ec.message());
  return Status::Ok();
}

}  // namespace

std::string SweepRunName(double lr, double weight_decay, int epochs) {
  return ShortNumber(lr) + "_" + ShortNumber(weight_decay) + "_" + std::to_string(epochs);
}

Result<FineTuneSweepResult> RunFineTuneSweep(const FineTuneRunOptions& base, const SweepGrid& grid,
                                             const FineTuneData& train, const FineTuneData& dev) {
  if (grid.lr.empty() || grid.weight_decay.empty() || grid.epochs.empty())
    return Status::Error(
        "the sweep grid needs at least one learning rate, weight decay and epoch "
        "count");
  if (base.stop_after != 0)
    return Status::Error("--stop-after stops a single run; a sweep is resumed with --resume");
  if (base.out_dir.empty()) return Status::Error("--out is required");
  for (double lr : grid.lr)
    if (!(lr > 0.0) || !std::isfinite(lr))
      return Status::Error("sweep learning rates must be positive, got " + std::to_string(lr));
  for (double wd : grid.weight_decay)
    if (!(wd >= 0.0) || !std::isfinite(wd))
      return Status::Error("sweep weight decays must be >= 0, got " + std::to_string(wd));
  for (int e : grid.epochs)
    if (e < 1) return Status::Error("sweep epochs must be at least 1, got " + std::to_string(e));

  struct Point {
    double lr, weight_decay;
    int epochs;
    std::string name;
  };
  std::vector<Point> points;
  for (double lr : grid.lr)
    for (double wd : grid.weight_decay)
      for (int epochs : grid.epochs) {
        const std::string name = SweepRunName(lr, wd, epochs);
        for (const Point& p : points)
          if (p.name == name) return Status::Error("the sweep grid lists " + name + " twice");
        points.push_back({lr, wd, epochs, name});
      }

  std::error_code ec;
  fs::create_directories(base.out_dir + "/sweep", ec);
  if (ec) return Status::Error(base.out_dir + "/sweep: cannot create: " + ec.message());
  const std::string summary_path = base.out_dir + "/sweep.jsonl";
  std::string summary;
  MBERT_RETURN_IF_ERROR(WriteFileAtomic(summary_path, summary));

  FineTuneSweepResult res;
  double best_value = std::nan("");
  for (const Point& p : points) {
    FineTuneRunOptions o = base;
    o.lr = p.lr;
    o.weight_decay = p.weight_decay;
    o.epochs = p.epochs;
    o.out_dir = base.out_dir + "/sweep/" + p.name;
    o.resume = base.resume && FileExists(o.out_dir + "/latest");
    if (base.progress)
      std::fprintf(stderr, "sweep run %zu/%zu: lr %s, weight decay %s, %d epochs%s\n",
                   res.runs.size() + 1, points.size(), ShortNumber(p.lr).c_str(),
                   ShortNumber(p.weight_decay).c_str(), p.epochs, o.resume ? " (resumed)" : "");
    Result<FineTuneRunResult> r = RunFineTune(o, train, dev);
    if (!r.ok()) return r.status().Wrap("sweep run " + p.name);
    res.metric = r->metric;
    const json line = {{"run", p.name},
                       {"lr", p.lr},
                       {"weight_decay", p.weight_decay},
                       {"epochs", p.epochs},
                       {"dir", "sweep/" + p.name},
                       {"metric", r->metric},
                       {"best_metric", r->best_metric},
                       {"best_step", r->best_step},
                       {"steps", r->steps},
                       {"early_stopped", r->early_stopped},
                       {"best_eval", r->best_eval}};
    if (res.runs.empty() || Beats(r->best_metric, best_value)) {
      res.best = res.runs.size();
      best_value = r->best_metric;
    }
    res.runs.push_back(line);
    summary += line.dump() + "\n";
    MBERT_RETURN_IF_ERROR(WriteFileAtomic(summary_path, summary));
  }

  const json& best = res.runs[res.best];
  MBERT_RETURN_IF_ERROR(
      PublishBestCopy(base.out_dir + "/" + best["dir"].get<std::string>() + "/best", base.out_dir));
  const json results = {
      {"metric", res.metric},
      {"grid", {{"lr", grid.lr}, {"weight_decay", grid.weight_decay}, {"epochs", grid.epochs}}},
      {"best", best},
      {"runs", res.runs}};
  MBERT_RETURN_IF_ERROR(WriteFileAtomic(base.out_dir + "/sweep_results.json", results.dump(2)));
  return res;
}

}  // namespace mbert
