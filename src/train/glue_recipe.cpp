#include "train/glue_recipe.h"

namespace mbert {

std::string GluePaperMetric(const data::GlueTask& task) {
  if (task.kind == data::LabelKind::kRegression) return "spearman";
  if (task.name == "CoLA") return "matthews";
  if (task.name == "MRPC") return "f1";
  return "accuracy";
}

SweepGrid GluePaperSweepGrid(const data::GlueTask& task) {
  SweepGrid g;
  g.lr = {1e-5, 3e-5, 5e-5, 8e-5};
  g.weight_decay = {1e-6, 5e-6, 8e-6, 1e-5};
  const bool short_runs = task.name == "SST-2" || task.name == "MNLI" || task.name == "RTE";
  g.epochs = short_runs ? std::vector<int>{1, 2, 3} : std::vector<int>{2, 5, 10};
  return g;
}

}  // namespace mbert
