// One MLM training step's forward + backward on a packed batch: the model's forward with saved
// activations, the MLM head and tied decoder on the masked rows only (sparse prediction), mean
// cross-entropy over labels != -100, and gradients for every parameter, in the same HF-named
// table layout as the weights (design.md §3). The encoder and prediction-head backwards live in
// model/ (encoder_backward.h, heads_backward.h); this file adds the tied decoder and the loss.
#pragma once

#include "batch/packed_batch.h"
#include "core/tensor.h"
#include "model/encoder.h"
#include "model/encoder_backward.h"
#include "model/grads.h"  // ZeroGradsLike, for callers of MlmForwardBackward
#include "model/heads_backward.h"

namespace mbert {

// Buffers one MLM step needs, kept between calls so steady-state steps do not allocate: a fresh
// multi-MB std::vector is an mmap whose pages fault in (and are zeroed by the kernel) on every
// call, which cost ~10% of a small-model step. Contents are scratch; one per concurrent caller.
struct MlmWorkspace {
  ForwardContext ctx;  // the forward's scratch
  ForwardActivations acts;
  std::vector<float> hidden;          // (N, C) final hidden states
  std::vector<int32_t> rows, labels;  // (R) masked row index and its label
  PredictionHeadState head;           // (R, C) head input/activations/gradients
  std::vector<float> logits;          // (R, V); overwritten in place by dlogits
  std::vector<float> dh;              // (N, C) dLoss/dhidden
  EncoderBackwardWorkspace backward;
};

struct MlmStepResult {
  float loss = 0.0f;      // mean over predicted tokens
  int64_t predicted = 0;  // number of rows with a label
  int64_t correct = 0;    // argmax == label among them
};

// Forward + backward. Gradients are ACCUMULATED into `grads` (zero it between steps), so several
// micro-batches can be summed; the loss of each call is the mean over its own masked tokens.
// `grad_scale` multiplies this call's gradients (e.g. tokens_in_microbatch / tokens_in_batch).
// `ws` (optional) is reused between calls; without one, each call allocates its own.
Result<MlmStepResult> MlmForwardBackward(Encoder& m, const PackedBatch& batch, TensorTable* grads,
                                         float grad_scale = 1.0f, MlmWorkspace* ws = nullptr);

// Forward only: loss and accuracy on the labelled rows (evaluation).
Result<MlmStepResult> MlmEvaluate(Encoder& m, const PackedBatch& batch, MlmWorkspace* ws = nullptr);

}  // namespace mbert
