// The ModernBERT paper's GLUE protocol (src/train/glue_recipe.h): the metric each task selects
// best/ by and its sweep grid, as modernbert-reference.md §6.3 states them, and the names of
// sweep run directories (src/train/finetune_sweep.h).
#include <gtest/gtest.h>

#include "data/glue.h"
#include "train/finetune_sweep.h"
#include "train/glue_recipe.h"

namespace mbert {
namespace {

data::GlueTask Task(const std::string& name) {
  auto t = data::FindGlueTask(name);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return *t;
}

TEST(GlueRecipe, PaperMetricPerTask) {
  EXPECT_EQ(GluePaperMetric(Task("cola")), "matthews");
  EXPECT_EQ(GluePaperMetric(Task("mrpc")), "f1");
  EXPECT_EQ(GluePaperMetric(Task("stsb")), "spearman");
  EXPECT_EQ(GluePaperMetric(Task("sst2")), "accuracy");
  EXPECT_EQ(GluePaperMetric(Task("rte")), "accuracy");
}

TEST(GlueRecipe, PaperSweepGrid) {
  const std::vector<double> lr = {1e-5, 3e-5, 5e-5, 8e-5}, wd = {1e-6, 5e-6, 8e-6, 1e-5};
  for (const char* name : {"sst2", "rte"}) {
    const SweepGrid g = GluePaperSweepGrid(Task(name));
    EXPECT_EQ(g.lr, lr);
    EXPECT_EQ(g.weight_decay, wd);
    EXPECT_EQ(g.epochs, (std::vector<int>{1, 2, 3})) << name;
  }
  for (const char* name : {"cola", "mrpc", "stsb"}) {
    const SweepGrid g = GluePaperSweepGrid(Task(name));
    EXPECT_EQ(g.lr, lr);
    EXPECT_EQ(g.weight_decay, wd);
    EXPECT_EQ(g.epochs, (std::vector<int>{2, 5, 10})) << name;
  }
}

TEST(GlueRecipe, SweepRunNames) {
  EXPECT_EQ(SweepRunName(8e-5, 1e-6, 5), "8e-5_1e-6_5");
  EXPECT_EQ(SweepRunName(3e-5, 1e-5, 10), "3e-5_1e-5_10");
  EXPECT_EQ(SweepRunName(1e-3, 0.0, 1), "0.001_0_1");
  EXPECT_EQ(SweepRunName(2.5e-5, 5e-6, 2), "2.5e-5_5e-6_2");
}

}  // namespace
}  // namespace mbert
