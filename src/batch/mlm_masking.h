// MLM masking: the training rule of the original ModernBERT packer (reference §5.1) and the
// evaluation rule of HF DataCollatorForLanguageModeling (15%, special tokens never selected).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "batch/packed_batch.h"
#include "batch/rng.h"
#include "mbert/status.h"

namespace mbert {

constexpr int32_t kIgnoreIndex = -100;

// Training masking (reference §5.1, ModernBERT sequence_packer.py `mlm_masking` as used for the
// paper's run). One uniform draw r per position, p = mlm_probability:
//   r < 0.8p        -> input = [MASK]
//   0.8p <= r < 0.9p -> input = random id, uniform in [0, max id of the batch after the [MASK]
//                       substitution] inclusive (so usually 0..mask_token_id)
//   0.9p <= r < p   -> input kept
//   r >= p          -> label -100 (not predicted)
// Only padding is protected: its label is always -100, but a pad position can still receive
// [MASK] or a random id in the input (it sits in its own pseudo-sequence and has no loss).
// [CLS]/[SEP] and every other special token can be selected.
// (A later revision of that repository draws a second uniform for the 80/10/10 split and never
// selects pad; the paper's model was trained with the single-draw rule implemented here.)
struct MlmMaskingOptions {
  double mlm_probability = 0.30;
  int32_t mask_token_id = 50284;
  int32_t pad_token_id = 50283;
};

struct MaskingCounts {
  int64_t selected = 0;  // labels != -100
  int64_t masked = 0;    // replaced by [MASK]
  int64_t randomized = 0;
  int64_t kept = 0;
};

// Masks `ids` (N) in place and writes `labels` (N). All positions are one batch: the random-id
// range uses the maximum over all of them. Draw order: one uniform per position in order, then one
// integer per randomised position in order.
MaskingCounts ApplyMlmMasking(std::span<int32_t> ids, std::span<int32_t> labels,
                              const MlmMaskingOptions& opts, Rng& rng);

// The same over the rows of one packed batch (the original masks the whole [rows, P] array at
// once, row-major): rows keep their cu_seqlens/positions and gain labels (N).
MaskingCounts ApplyMlmMasking(std::vector<PackedBatch>* rows, const MlmMaskingOptions& opts,
                              Rng& rng);

// Evaluation masking, HF DataCollatorForLanguageModeling semantics (the original evaluates with
// it at 15%): special ids (including pad) are never selected; a selected position becomes [MASK]
// with probability mask_replace_prob, else a random id uniform in [0, vocab_size) with probability
// random_replace_prob / (1 - mask_replace_prob), else it is kept. Independent draws per decision.
struct EvalMaskingOptions {
  double mlm_probability = 0.15;
  double mask_replace_prob = 0.8;
  double random_replace_prob = 0.1;
  int32_t mask_token_id = 50284;
  int32_t vocab_size = 50368;        // len(tokenizer): random ids are drawn from [0, vocab_size)
  std::vector<int32_t> special_ids;  // e.g. [UNK] [CLS] [SEP] [PAD] [MASK]
};

// Validates the options (probabilities in range, vocab_size > 0) so a bad config is reported.
Status ValidateEvalMaskingOptions(const EvalMaskingOptions& opts);
Status ValidateMlmMaskingOptions(const MlmMaskingOptions& opts);

MaskingCounts ApplyEvalMlmMasking(std::span<int32_t> ids, std::span<int32_t> labels,
                                  const EvalMaskingOptions& opts, Rng& rng);
// Sets each batch's labels (N) and masks its input ids.
MaskingCounts ApplyEvalMlmMasking(PackedBatch* batch, const EvalMaskingOptions& opts, Rng& rng);

}  // namespace mbert
