// The JSON training config of `mbert train` (docs/training.md): every field typed and
// range-checked before anything is allocated from it, errors naming the file and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "mbert/status.h"
#include "train/schedule.h"
#include "train/stable_adamw.h"
#include "train/text_dataset.h"

namespace mbert {

struct TrainConfig {
  std::string output_dir;
  std::string init_from;        // existing HF ModernBertForMaskedLM directory, or empty
  nlohmann::json model_config;  // config.json fields for a fresh model (Megatron init)
  std::string tokenizer_dir;    // directory holding tokenizer.json
  // With init_from: config.json fields changed for this phase, e.g. the context extension's
  // {"global_rope_theta": 160000} (reference §5.4). Fields that change a weight's shape are
  // refused.
  nlohmann::json model_overrides;
  // With model: a smaller checkpoint whose weights are centre-tiled into the fresh model
  // (reference §5.7, base -> large), after Megatron init of what has no source.
  std::string tile_from;
  TextDatasetOptions data;   // text files (data.train), or:
  std::string corpus_dir;    // data.corpus: a prepared corpus directory (docs/data.md)
  std::string mixture_path;  // data.mixture: its mixture file; empty = every source, weight 1
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
  // Resuming checks that the training data is the data the checkpoint was trained on (sizes and
  // checksums of the sources, the tokenized documents); with this set a difference is a warning
  // and the data order restarts with a fresh epoch instead of an error.
  bool allow_data_change = false;
  std::string model_origin;  // where model_config came from, for error messages

  // Ranges of the fields that a config built in code could get wrong; FromJson checks them all.
  Status Validate(const std::string& origin) const;

  // Parses the JSON training config; relative paths resolve against `base_dir`.
  static Result<TrainConfig> FromJson(const nlohmann::json& j, const std::string& origin,
                                      const std::string& base_dir);
  static Result<TrainConfig> FromFile(const std::string& path);
};

}  // namespace mbert
