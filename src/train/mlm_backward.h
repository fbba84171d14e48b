// One MLM training step's forward + backward on a packed batch: the model's forward with saved
// activations, the MLM head and tied decoder on the masked rows only (sparse prediction), mean
// cross-entropy over labels != -100, and gradients for every parameter, in the same HF-named
// table layout as the weights (design.md §3).
#pragma once

#include "batch/packed_batch.h"
#include "core/tensor.h"
#include "model/model.h"

namespace mbert {

struct MlmStepResult {
  float loss = 0.0f;       // mean over predicted tokens
  int64_t predicted = 0;   // number of rows with a label
  int64_t correct = 0;     // argmax == label among them
};

// Zero-initialised gradient table with the same names and shapes as m.params().
TensorTable ZeroGradsLike(const TensorTable& params);

// Forward + backward. Gradients are ACCUMULATED into `grads` (zero it between steps), so several
// micro-batches can be summed; the loss of each call is the mean over its own masked tokens.
// `grad_scale` multiplies this call's gradients (e.g. tokens_in_microbatch / tokens_in_batch).
Result<MlmStepResult> MlmForwardBackward(Model& m, const PackedBatch& batch, TensorTable* grads,
                                         float grad_scale = 1.0f);

// Forward only: loss and accuracy on the labelled rows (evaluation).
Result<MlmStepResult> MlmEvaluate(Model& m, const PackedBatch& batch);

}  // namespace mbert
