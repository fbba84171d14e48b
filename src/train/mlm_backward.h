// One MLM training step's forward + backward on a packed batch: the model's forward with saved
// activations, the MLM head and tied decoder on the masked rows only (sparse prediction), mean
// cross-entropy over labels != -100, and gradients for every parameter, in the same HF-named
// table layout as the weights (design.md §3).
#pragma once

#include "batch/packed_batch.h"
#include "core/tensor.h"
#include "model/encoder.h"

namespace mbert {

// Buffers one MLM step needs, kept between calls so steady-state steps do not allocate: a fresh
// multi-MB std::vector is an mmap whose pages fault in (and are zeroed by the kernel) on every
// call, which cost ~10% of a small-model step. Contents are scratch; one per concurrent caller.
struct MlmWorkspace {
  ForwardContext ctx;  // the forward's scratch
  ForwardActivations acts;
  std::vector<float> hidden;                // (N, C) final hidden states
  std::vector<int32_t> rows, labels;        // (R) masked row index and its label
  std::vector<float> x, t, a, z;            // (R, C) head input, dense out, GELU out, norm out
  std::vector<float> mean, rstd;            // (R) head.norm statistics
  std::vector<float> logits;                // (R, V); overwritten in place by dlogits
  std::vector<float> dz, da, dt, dxr;       // (R, C) head gradients
  std::vector<float> dh, dx, dnorm, dattn;  // (N, C)
  std::vector<float> dqkv;                  // (N, 3C)
  std::vector<float> dg, du;                // (N, I), (N, 2I)
};

struct MlmStepResult {
  float loss = 0.0f;      // mean over predicted tokens
  int64_t predicted = 0;  // number of rows with a label
  int64_t correct = 0;    // argmax == label among them
};

// Zero-initialised gradient table with the same names and shapes as m.params().
TensorTable ZeroGradsLike(const TensorTable& params);

// Forward + backward. Gradients are ACCUMULATED into `grads` (zero it between steps), so several
// micro-batches can be summed; the loss of each call is the mean over its own masked tokens.
// `grad_scale` multiplies this call's gradients (e.g. tokens_in_microbatch / tokens_in_batch).
// `ws` (optional) is reused between calls; without one, each call allocates its own.
Result<MlmStepResult> MlmForwardBackward(Encoder& m, const PackedBatch& batch, TensorTable* grads,
                                         float grad_scale = 1.0f, MlmWorkspace* ws = nullptr);

// Forward only: loss and accuracy on the labelled rows (evaluation).
Result<MlmStepResult> MlmEvaluate(Encoder& m, const PackedBatch& batch, MlmWorkspace* ws = nullptr);

}  // namespace mbert
