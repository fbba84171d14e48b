// The MLM pre-training loop behind `mbert train`: data -> greedy best-fit packing -> 30% masking
// -> forward/backward per packed row (micro-batch) -> StableAdamW with the warmup-stable-decay
// schedule and batch-size warmup -> metrics, held-out evaluation and atomic, resumable checkpoints.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "batch/mlm_masking.h"
#include "batch/packer.h"
#include "batch/rng.h"
#include "mbert/tokenizer.h"
#include "model/encoder.h"
#include "train/mlm_backward.h"
#include "train/schedule.h"
#include "train/stable_adamw.h"
#include "train/text_dataset.h"

namespace mbert {

struct TrainConfig {
  std::string output_dir;
  std::string init_from;        // existing HF ModernBertForMaskedLM directory, or empty
  nlohmann::json model_config;  // config.json fields for a fresh model (Megatron init)
  std::string tokenizer_dir;    // directory holding tokenizer.json
  TextDatasetOptions data;
  uint64_t seed = 17;
  double mlm_probability = 0.30;
  int64_t row_tokens = 1024;        // tokens per packed row (one micro-batch)
  int rows = 4;                     // packed rows per optimizer step after warmup
  int min_rows = 1;                 // batch-size warmup start
  int64_t batch_warmup_tokens = 0;  // 0 = no batch-size warmup
  StableAdamWConfig optimizer;      // max_lr is set to lr
  double lr = 8e-4;
  LrScheduleConfig schedule;  // peak_lr = lr; unit steps or tokens
  int64_t max_steps = 100;
  int64_t log_every = 10;
  int64_t eval_every = 50;  // 0 = never
  int eval_batches = 4;
  int64_t checkpoint_every = 0;  // 0 = only at the end
  int threads = 0;

  // Parses the JSON training config; relative paths resolve against `base_dir`.
  static Result<TrainConfig> FromJson(const nlohmann::json& j, const std::string& origin,
                                      const std::string& base_dir);
  static Result<TrainConfig> FromFile(const std::string& path);
};

struct StepMetrics {
  int64_t step = 0;
  double loss = 0.0;
  double lr = 0.0;
  int rows = 0;
  int64_t tokens = 0;  // non-pad tokens in this step
  double seconds = 0.0;
};

struct EvalMetrics {
  double loss = 0.0;
  double accuracy = 0.0;
  int64_t predicted = 0;
};

class Trainer {
 public:
  // Builds (or, with resume, restores from output_dir's latest checkpoint) the whole state.
  static Result<std::unique_ptr<Trainer>> Create(const TrainConfig& config, bool resume);

  // One optimizer step.
  Result<StepMetrics> Step();
  // Held-out MLM loss/accuracy at 15% masking on fixed (seeded) eval batches.
  Result<EvalMetrics> Evaluate();
  // Writes output_dir/checkpoint-<step> atomically and points output_dir/latest at it.
  Status SaveCheckpoint();
  // Runs until max_steps with logging, eval and checkpoints; progress on stderr, metrics JSONL in
  // output_dir/metrics.jsonl.
  Status Run();

  int64_t step() const { return step_; }
  int64_t tokens_seen() const { return tokens_seen_; }
  Encoder& model() { return *model_; }

 private:
  Trainer() = default;
  Result<bool> NextDocument(std::vector<int32_t>* out);
  Status Restore(const std::string& checkpoint_dir);

  TrainConfig cfg_;
  std::unique_ptr<Encoder> model_;
  std::optional<Tokenizer> tokenizer_;
  TextDataset data_;
  std::optional<StableAdamW> optimizer_;
  std::optional<LrSchedule> schedule_;
  std::optional<BatchSizeWarmup> batch_warmup_;
  std::optional<GreedyBestFitPacker> packer_;
  std::vector<PackedBatch> eval_batches_;
  TensorTable grads_;
  MlmWorkspace ws_;  // reused by every micro-batch and evaluation batch
  Rng mask_rng_;
  Rng data_rng_;
  std::vector<uint32_t> order_;  // permutation of train documents for the current epoch
  int64_t epoch_ = 0;
  int64_t cursor_ = 0;  // next index into order_
  int64_t step_ = 0;
  int64_t tokens_seen_ = 0;  // non-pad tokens consumed by optimizer steps
};

}  // namespace mbert
