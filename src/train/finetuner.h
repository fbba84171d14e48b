// One fine-tuning step as a library call (the `mbert finetune` CLI and the evaluators build on
// it): forward with saved activations -> objective (loss, head gradients, dHidden) ->
// EncoderBackward -> global-norm gradient clipping -> optimizer step -> GEMM weights refreshed.
// Equal, step for step, to transformers' Trainer with the same optimizer, schedule and data order
// (tests/train/test_finetune_parity.cpp). The caller owns the schedule: it passes each step's lr
// (HfLinearScheduleMultiplier for the Trainer's default).
//
// Typical use:
//   MBERT_ASSIGN_OR_RETURN(Encoder model, Encoder::Load(dir));          // fp32
//   SequenceClassificationObjective objective;
//   MBERT_ASSIGN_OR_RETURN(AdamW opt, AdamW::Create({.weight_decay = 0.01}));
//   MBERT_ASSIGN_OR_RETURN(FineTuner ft, FineTuner::Create(&model, &objective, &opt, {}));
//   for (step ...) ft.Step(batch, peak_lr * HfLinearScheduleMultiplier(step, warmup, total));
#pragma once

#include <vector>

#include "model/encoder.h"
#include "model/encoder_backward.h"
#include "train/objective.h"
#include "train/optimizer.h"

namespace mbert {

struct FineTuneOptions {
  double max_grad_norm = 1.0;  // Trainer's default; <= 0 disables clipping
};

struct FineTuneStepResult {
  double loss = 0.0;
  double grad_norm = 0.0;  // global L2 norm over every gradient, before clipping
  double lr = 0.0;
  int64_t count = 0;    // examples the loss averages over (objective.h)
  int64_t correct = 0;  // classification accuracy numerator
};

class FineTuner {
 public:
  // `model` (fp32), `objective` and `optimizer` are borrowed and must outlive the FineTuner.
  // Errors: a bf16 model, a config with non-zero dropout (not implemented), or a model the
  // objective cannot use.
  static Result<FineTuner> Create(Encoder* model, Objective* objective, Optimizer* optimizer,
                                  FineTuneOptions options = {});

  // Gradients of the loss on one batch, into grads() and objective->extra_grads() (zeroed
  // first). Nothing is updated.
  Result<ObjectiveResult> ComputeGradients(const TaskBatch& batch);

  // ComputeGradients, then clip and one optimizer step at `lr`. A non-finite loss or gradient is
  // an error raised before the weights change.
  Result<FineTuneStepResult> Step(const TaskBatch& batch, double lr);

  // Loss (and accuracy) without gradients, for evaluation.
  Result<ObjectiveResult> Evaluate(const TaskBatch& batch);

  const TensorTable& grads() const { return grads_; }
  Encoder& model() { return *model_; }

 private:
  FineTuner() = default;
  Encoder* model_ = nullptr;
  Objective* objective_ = nullptr;
  Optimizer* optimizer_ = nullptr;
  FineTuneOptions options_;
  TensorTable grads_;
  ForwardContext ctx_;
  ForwardActivations acts_;
  std::vector<float> hidden_, dhidden_;
  EncoderBackwardWorkspace backward_;
};

}  // namespace mbert
