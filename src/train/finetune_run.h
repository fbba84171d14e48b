// The fine-tuning loop behind `mbert finetune` (and reusable by the server or sweeps): tokenized
// train/dev data (finetune_examples.h) -> batches in a seeded order -> FineTuner steps (AdamW,
// transformers' linear warmup/decay schedule, clip 1.0) -> dev evaluation every `eval_every`
// steps and at the end of each epoch -> the best model by the task's dev metric, early stopping,
// metrics.jsonl and atomic, resumable checkpoints.
//
// Output directory:
//   best/                  the model with the best dev metric so far: model.safetensors,
//                          config.json (id2label/label2id, problem_type), tokenizer files; loads
//                          in transformers (AutoModelFor*) and in mbert as it is
//   checkpoint-<step>/     the latest state: the model files plus optimizer.safetensors (AdamW
//                          moments and step counts) and finetune_state.json; older ones removed
//   latest                 the name of that checkpoint
//   metrics.jsonl          one {"step": ...} line per optimizer step and per evaluation
// Every directory is written as .<name>.tmp and renamed into place. With `resume`, the run
// restores the latest checkpoint and continues so that the result equals an uninterrupted run's
// (same data, same options; the order of batches depends only on the seed and the epoch).
//
// Batches: each epoch shuffles the training examples (Fisher-Yates with Rng(seed, epoch)), then
// takes them in that order, `batch_size` sequences per batch, fewer when the next would bring the
// batch past `batch_tokens` tokens (0: no token bound). Steps per epoch are therefore fixed
// before training starts and the schedule (warmup_ratio of all steps) is transformers' linear one.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mbert/status.h"
#include "model/encoder.h"
#include "train/finetune_examples.h"
#include "train/objective.h"

namespace mbert {

struct FineTuneRunOptions {
  std::string model_dir;  // the starting checkpoint (task_model.h); also the tokenizer files
  std::string out_dir;
  double lr = 5e-5;
  int epochs = 3;
  int batch_size = 32;
  int64_t batch_tokens = 0;
  double warmup_ratio = 0.0;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  uint64_t seed = 42;
  int64_t eval_every = 0;  // steps between evaluations; 0: once per epoch
  int early_stopping = 0;  // stop after this many evaluations without improvement; 0: never
  std::string metric;      // the dev metric selecting `best/`; empty: the task's default
  bool resume = false;
  int64_t stop_after = 0;  // stop (with a checkpoint) after this step; 0: run to the end
  bool progress = true;    // progress bar on stderr
};

struct FineTuneRunResult {
  int64_t steps = 0;  // optimizer steps taken in total
  int64_t best_step = -1;
  double best_metric = 0.0;
  std::string metric;
  nlohmann::json best_eval;  // every metric of the best evaluation
  bool early_stopped = false;
};

// Metric names: "accuracy", "f1" (binary, label id 1 positive), "matthews", "pearson",
// "spearman", "entity_f1" (seqeval micro F1), "token_accuracy". Defaults: accuracy (sequence
// classification), pearson (regression), entity_f1 (token classification); a GLUE task's caller
// passes the paper's metric instead (glue_recipe.h).
std::string DefaultMetric(FineTuneTask task);
Status CheckMetric(FineTuneTask task, const std::string& metric);

// Runs the whole fine-tuning. `train` and `dev` must be the same task with the same labels.
Result<FineTuneRunResult> RunFineTune(const FineTuneRunOptions& options, const FineTuneData& train,
                                      const FineTuneData& dev);

// The batches of one epoch as example indices (exposed for tests).
std::vector<std::vector<int64_t>> EpochBatches(const FineTuneData& train, int batch_size,
                                               int64_t batch_tokens, uint64_t seed, int epoch);
// The same over examples of the given token lengths.
std::vector<std::vector<int64_t>> EpochBatches(const std::vector<int64_t>& lengths, int batch_size,
                                               int64_t batch_tokens, uint64_t seed, int epoch);

class FineTuner;

// What a kind of fine-tuning supplies to the shared loop (RunFineTuneJob): its data, model,
// objective, dev evaluation and saved layout. Classification (RunFineTune) and retrieval
// (retrieval_run.h) are the two jobs; the loop owns the schedule, batching order, evaluation
// cadence, best/ and early stopping, metrics.jsonl and checkpoints.
class FineTuneJob {
 public:
  virtual ~FineTuneJob() = default;
  // Token count of each training example (what --batch-tokens bounds).
  virtual std::vector<int64_t> TrainLengths() const = 0;
  virtual const std::string& train_source() const = 0;
  virtual TaskBatch TrainBatch(const std::vector<int64_t>& examples) const = 0;
  // Checks the options and data before anything is written; returns the dev metric to use
  // (options.metric, or the job's default when empty).
  virtual Result<std::string> Prepare(const FineTuneRunOptions& options) = 0;
  // Job fields a checkpoint must agree on, besides the loop's.
  virtual nlohmann::json Fingerprint() const = 0;
  // The model to train, fresh from options.model_dir or from a checkpoint directory written by
  // WriteModel(checkpoint = true); either also sets up objective().
  virtual Result<Encoder> NewModel(const FineTuneRunOptions& options) = 0;
  virtual Result<Encoder> LoadCheckpoint(const std::string& dir) = 0;
  virtual Objective* objective() = 0;
  // Every dev metric (and "loss" where the job has one) of the current model.
  virtual Result<nlohmann::json> Evaluate(FineTuner& ft, const FineTuneRunOptions& options) = 0;
  // The model files of the trained model into `dir` (which exists).
  virtual Status WriteModel(const std::string& dir, const Encoder& model, bool checkpoint) = 0;
};

Result<FineTuneRunResult> RunFineTuneJob(const FineTuneRunOptions& options, FineTuneJob& job);

}  // namespace mbert
