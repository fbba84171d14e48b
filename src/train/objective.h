// The fine-tuning objective seam (design.md §9): a loss on the encoder's final hidden states that
// also returns dLoss/dHidden and its own head's gradients, so one FineTuner (finetuner.h) runs
// forward -> objective -> EncoderBackward -> optimizer for every task. The objectives:
//   SequenceClassificationObjective   cross-entropy, or MSE when num_labels == 1 (regression)
//   TokenClassificationObjective      cross-entropy over tokens whose label is not -100
//   DprObjective                      pooled embeddings + MultipleNegativesRankingLoss
//   ColbertObjective                  projected token vectors + MaxSim + contrastive loss
#pragma once

#include <cstdint>
#include <vector>

#include "batch/packed_batch.h"
#include "core/tensor.h"
#include "mbert/status.h"
#include "model/encoder.h"

namespace mbert {

// One training batch of a task. Shapes: N tokens, B sequences (design.md glossary).
struct TaskBatch {
  PackedBatch packed;  // every sequence the objective needs, packed (packed.labels unused)
  // Sequence classification: (B) class ids in [0, K). Token classification: (N) class ids in
  // [0, K) or -100 (no loss on that token).
  std::vector<int32_t> labels;
  // Regression (num_labels == 1): (B) targets.
  std::vector<float> targets;
  // Retrieval (DPR, ColBERT): the packed sequences are `columns` groups of Q sequences each, in
  // order: Q queries, Q positive documents, then columns − 2 groups of Q hard negatives (negative
  // column c for query i is sequence c·Q + i). Q = B / columns. 1 for the other objectives.
  int columns = 1;
};

struct ObjectiveResult {
  double loss = 0.0;
  int64_t count = 0;    // what the loss averages over: sequences, labelled tokens or queries
  int64_t correct = 0;  // classification: argmax == label among them (0 for the others)
};

class Objective {
 public:
  virtual ~Objective() = default;

  // A clear error when the model cannot serve this objective (architecture, labels).
  virtual Status CheckModel(const Encoder& m) const = 0;

  // hidden (N, C): the encoder's final hidden states for b.packed. Computes the loss. When
  // `dhidden` is non-null it also writes dhidden (N, C) = grad_scale · dLoss/dHidden (resized and
  // overwritten) and ADDS grad_scale · dLoss/dθ for the head parameters to `grads` (the model's
  // table) and for the objective's own parameters to extra_grads(). Errors name the bad input.
  virtual Result<ObjectiveResult> Run(const Encoder& m, const TaskBatch& b,
                                      const std::vector<float>& hidden, float grad_scale,
                                      TensorTable* grads, std::vector<float>* dhidden) = 0;

  // Trainable parameters the objective owns beyond the model's (e.g. the ColBERT projection) and
  // their gradient slots, or null when it owns none.
  virtual TensorTable* extra_params() { return nullptr; }
  virtual TensorTable* extra_grads() { return nullptr; }
};

}  // namespace mbert
