// The ModernBERT paper's GLUE fine-tuning protocol (Warner et al., 2024, appendix E.1; shared
// docs/modernbert-reference.md §6.3), for the tasks of data/glue.h:
//
// | task  | dev metric (best/ and early stopping) | sweep epochs |
// |-------|---------------------------------------|--------------|
// | SST-2 | accuracy                              | 1, 2, 3      |
// | RTE   | accuracy                              | 1, 2, 3      |
// | CoLA  | matthews (Matthews correlation)       | 2, 5, 10     |
// | MRPC  | f1 (binary, label 1 = paraphrase)     | 2, 5, 10     |
// | STS-B | spearman                              | 2, 5, 10     |
//
// Every task sweeps lr {1e-5, 3e-5, 5e-5, 8e-5} x weight decay {1e-6, 5e-6, 8e-6, 1e-5} x its
// epochs: 48 runs. STS-B selects by Spearman because the paper's GLUE code (AnswerDotAI/bert24,
// src/evals/glue_jobs.py, STSBJob) evaluates SpearmanCorrCoef only, as BERT's paper reports STS-B;
// Pearson stays in every evaluation line.
#pragma once

#include <string>
#include <vector>

#include "data/glue.h"

namespace mbert {

// The metric the paper reports for the task, as a FineTuneRunOptions::metric name.
std::string GluePaperMetric(const data::GlueTask& task);

struct SweepGrid {
  std::vector<double> lr, weight_decay;
  std::vector<int> epochs;
};

// The paper's lr x weight decay x epochs grid for the task.
SweepGrid GluePaperSweepGrid(const data::GlueTask& task);

}  // namespace mbert
