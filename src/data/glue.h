// The GLUE tasks in shared/data/glue, by task name, each file read with its own layout (see
// shared/data/README.md):
//
// | task  | files                 | columns (0-based)                              | header |
// |-------|-----------------------|------------------------------------------------|-----------------|
// | SST-2 | {train,dev,test}.tsv  | sentence 0, label 1                            | all | | CoLA
// | {train,val,dev}.tsv   | source 0, label 1, mark 2, sentence 3          | none            | |
// RTE   | {train,val,dev}.tsv   | index 0, sentence1 1, sentence2 2, label 3     | train, dev | |
// MRPC  | {train,dev,test}.txt  | quality 0, id1 1, id2 2, string1 3, string2 4  | test (with BOM)
// | | STS-B | {train,dev,test}.tsv  | ... sentence1 7, sentence2 8, score 9 (of 10)  | test |
//
// A first row equal to the task's header (after a BOM) is the header; any other first row is
// data, so a header-less file loses nothing and a file with a header never yields it as an
// example. Every row must have exactly the task's column count.
//
// Labels: SST-2, CoLA, MRPC "0"/"1" (ids 0/1); RTE "entailment" 0, "not_entailment" 1 (the GLUE
// / HF datasets order); STS-B a float score in [0, 5] (regression).
//
// Splits are file names. The official GLUE dev set, on which papers report, is
// GlueOfficialDevSplit(task): SST-2 "test", CoLA "dev", RTE "dev", MRPC "test" (the MSRP test
// set), STS-B "test"; the other files are a split of GLUE train.
#pragma once

#include <string>
#include <vector>

#include "data/text_examples.h"

namespace mbert::data {

struct GlueTask {
  std::string name;                 // canonical: "SST-2", "CoLA", "RTE", "MRPC", "STS-B"
  std::string extension;            // ".tsv" or ".txt"
  std::vector<std::string> header;  // the column names of the file's header row
  int text = -1, text_pair = -1, label = -1;
  LabelKind kind = LabelKind::kClassification;
  std::vector<std::string> labels;  // id order (classification)
  std::vector<std::string> splits;  // the files present
  std::string official_dev;         // the split that is GLUE's dev set
  std::string metric;               // "accuracy", "matthews", "f1+accuracy", "pearson+spearman"
};

// "sst2", "SST-2", "sst-2", "cola", "rte", "mrpc", "stsb", "sts-b" (any case); an error listing
// the tasks for anything else.
Result<GlueTask> FindGlueTask(const std::string& name);
const std::vector<GlueTask>& GlueTasks();

// Reads `glue_dir`/<TASK>/<split><ext>, e.g. ReadGlue("../shared/data/glue", "rte", "dev").
Result<TextDataset> ReadGlue(const std::string& glue_dir, const std::string& task,
                             const std::string& split);
// The same for a file at any path with the task's layout (tests, fuzzing).
Result<TextDataset> ReadGlueFile(const GlueTask& task, std::istream& in, const std::string& name);

}  // namespace mbert::data
