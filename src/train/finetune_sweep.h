// A grid search over learning rate x weight decay x epochs (`mbert finetune --sweep`; the GLUE
// grids are glue_recipe.h's): one RunFineTune per point, every run's best dev metric compared.
//
// Output directory (`out_dir` of the base options):
//   sweep/<lr>_<wd>_<epochs>/  each run's own fine-tuning directory (finetune_run.h), e.g.
//                              sweep/8e-5_1e-6_5/best
//   sweep.jsonl                one line per finished run, in grid order (lr, then weight decay,
//                              then epochs): its settings, best dev metric and step, every metric
//                              of that evaluation
//   sweep_results.json         the metric, the grid, the best run's line and all the lines
//   best/                      a copy of the best run's best/ (files hard-linked where the file
//                              system allows); the best run has the highest best dev metric, the
//                              first in grid order on a tie, a NaN metric never wins
// With `resume`, a run whose directory has a checkpoint continues from it (a finished run returns
// at once with its recorded result; RunFineTune refuses a checkpoint of other options), the
// others start fresh, so an interrupted sweep resumed ends as an uninterrupted one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mbert/status.h"
#include "train/finetune_examples.h"
#include "train/finetune_run.h"
#include "train/glue_recipe.h"

namespace mbert {

struct FineTuneSweepResult {
  std::string metric;
  std::vector<nlohmann::json> runs;  // the sweep.jsonl lines
  size_t best = 0;                   // index into runs
};

// "<lr>_<wd>_<epochs>" with numbers in the shortest form: 8e-5_1e-6_5, 0.001_0_2.
std::string SweepRunName(double lr, double weight_decay, int epochs);

// Runs every point of `grid` with `base` (its lr, weight_decay and epochs replaced by the
// point's; stop_after must be 0).
Result<FineTuneSweepResult> RunFineTuneSweep(const FineTuneRunOptions& base, const SweepGrid& grid,
                                             const FineTuneData& train, const FineTuneData& dev);

}  // namespace mbert
