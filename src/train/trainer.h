// The MLM pre-training loop behind `mbert train`: data -> greedy best-fit packing -> 30% masking
// -> forward/backward per packed row (micro-batch) -> StableAdamW with the warmup-stable-decay
// schedule and batch-size warmup -> metrics, held-out evaluation and atomic, resumable checkpoints.
#pragma once

#include <map>
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
#include "train/communicator.h"
#include "train/corpus_data.h"
#include "train/mlm_backward.h"
#include "train/schedule.h"
#include "train/stable_adamw.h"
#include "train/text_dataset.h"
#include "train/train_config.h"

namespace mbert {

struct StepMetrics {
  int64_t step = 0;
  double loss = 0.0;
  double grad_norm = 0.0;  // global L2 norm of the step's gradient, before the optimizer
  double lr = 0.0;
  int rows = 0;
  int64_t tokens = 0;  // non-pad tokens in this step (all ranks)
  double seconds = 0.0;
  double allreduce_seconds = 0.0;  // data parallel: waiting for the gradient all-reduce
};

struct MlmScore {
  double loss = 0.0;
  double accuracy = 0.0;
  int64_t predicted = 0;  // masked positions scored
  // Training on a corpus: the unigram-frequency baseline on the same masked positions, from the
  // source's train-split token counts: accuracy of always predicting its most frequent token,
  // and the cross-entropy of its add-one-smoothed unigram distribution.
  double unigram_accuracy = 0.0;
  double unigram_loss = 0.0;
};

struct EvalMetrics : MlmScore {
  // Training on a prepared corpus: the same per held-out source (the mixture's names).
  std::map<std::string, MlmScore> per_source;
};

class Trainer {
 public:
  // Builds (or, with resume, restores from output_dir's latest checkpoint) the whole state.
  // `latest` must name a checkpoint-<step> directory inside output_dir.
  //
  // Data parallel (`comm` with several ranks; null = one process): every rank builds the same
  // packed batch and masks it with the same generator, computes the gradient of the rows r, r+W,
  // r+2W, ... and the all-reduced sum is the single-process gradient up to fp32 summation order;
  // the optimizer step is then identical everywhere. The state is therefore independent of the
  // world size: a checkpoint resumes with any number of ranks that divides `rows`. Rank 0 writes
  // checkpoints and metrics.
  static Result<std::unique_ptr<Trainer>> Create(const TrainConfig& config, bool resume,
                                                 Communicator* comm = nullptr);

  // One optimizer step. A non-finite loss or gradient is an error raised before the optimizer
  // touches the weights; it names the step and the first parameter with a non-finite gradient.
  Result<StepMetrics> Step();
  // Held-out MLM loss/accuracy at 15% masking on fixed (seeded) eval batches: with text data the
  // held-out documents packed in order; with a corpus, eval_batches rows of each source's val
  // split (its sequences in order), reported per source and over all of them.
  Result<EvalMetrics> Evaluate();
  // Writes output_dir/checkpoint-<step> atomically and points output_dir/latest at it. Refuses
  // (and writes nothing) when a weight or optimizer moment is not finite.
  Status SaveCheckpoint();
  // Runs until max_steps with logging, eval and checkpoints; progress on stderr, metrics JSONL in
  // output_dir/metrics.jsonl. The file first loses every line of a step after the one this run
  // starts from (a resumed run repeats no step; a fresh run starts an empty file).
  Status Run();

  int64_t step() const { return step_; }
  int64_t tokens_seen() const { return tokens_seen_; }
  Encoder& model() { return *model_; }

 private:
  Trainer() = default;
  Result<bool> NextDocument(std::vector<int32_t>* out);
  Status Restore(const std::string& checkpoint_dir);
  Status RestoreTrainerState(const std::string& path, const nlohmann::json& st);
  Status CheckFinite(const std::string& when) const;
  Status WriteCheckpoint();  // SaveCheckpoint's writer (rank 0)

  TrainConfig cfg_;
  LocalCommunicator local_comm_;
  Communicator* comm_ = &local_comm_;
  std::unique_ptr<Encoder> model_;
  std::optional<Tokenizer> tokenizer_;
  TextDataset data_;                  // data.train (text files), or
  std::optional<CorpusData> corpus_;  // data.corpus (prepared shards)
  nlohmann::json data_fingerprint_;   // of data_, saved with every checkpoint
  std::optional<StableAdamW> optimizer_;
  std::optional<LrSchedule> schedule_;
  std::optional<BatchSizeWarmup> batch_warmup_;
  std::optional<GreedyBestFitPacker> packer_;
  std::vector<PackedBatch> eval_batches_;
  std::vector<int> eval_source_;  // per eval batch: index into corpus_->mixture, or -1
  struct Unigram {
    int32_t top = 0;               // most frequent train token
    std::vector<float> neg_log_p;  // (V) -log p(token), add-one smoothed
  };
  std::vector<Unigram> unigram_;  // per mixture source (corpus only)
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
