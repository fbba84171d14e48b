#include "train/finetuner.h"

#include <cmath>
#include <string>
#include <utility>

#include "model/grads.h"
#include "model/weights.h"
#include "train/grad_clip.h"
#include "train/numeric_guard.h"

namespace mbert {

Result<FineTuner> FineTuner::Create(Encoder* model, Objective* objective, Optimizer* optimizer,
                                    FineTuneOptions options) {
  MBERT_CHECK(model != nullptr && objective != nullptr && optimizer != nullptr,
              "FineTuner needs a model, an objective and an optimizer");
  if (model->weight_dtype() != WeightDtype::kF32)
    return Status::Error("fine-tuning needs the model loaded in f32 (bf16 is inference-only)");
  // Dropout is not implemented (design: every ModernBERT config sets it to 0); training as if it
  // were 0 would silently differ from transformers, so a config that sets it is refused.
  const ModelConfig& c = model->config();
  for (const auto& [name, p] : {std::pair{"attention_dropout", c.attention_dropout},
                                {"embedding_dropout", c.embedding_dropout},
                                {"mlp_dropout", c.mlp_dropout},
                                {"classifier_dropout", c.classifier_dropout}}) {
    if (p != 0.0)
      return Status::Error(std::string("config.json sets ") + name + " = " + std::to_string(p) +
                           ": dropout is not implemented in fine-tuning; set it to 0 (ModernBERT's "
                           "default) to fine-tune this model");
  }
  MBERT_RETURN_IF_ERROR(objective->CheckModel(*model));
  FineTuner ft;
  ft.model_ = model;
  ft.objective_ = objective;
  ft.optimizer_ = optimizer;
  ft.options_ = options;
  ft.grads_ = ZeroGradsLike(model->params());
  return ft;
}

Result<ObjectiveResult> FineTuner::ComputeGradients(const TaskBatch& batch) {
  for (auto& [name, g] : grads_) g.Zero();
  if (TensorTable* extra = objective_->extra_grads())
    for (auto& [name, g] : *extra) g.Zero();
  MBERT_RETURN_IF_ERROR(model_->Forward(batch.packed, ctx_, &hidden_, &acts_));
  MBERT_ASSIGN_OR_RETURN(ObjectiveResult r,
                         objective_->Run(*model_, batch, hidden_, 1.0f, &grads_, &dhidden_));
  EncoderBackward(*model_, batch.packed, acts_, dhidden_.data(), &grads_, &backward_);
  return r;
}

Result<FineTuneStepResult> FineTuner::Step(const TaskBatch& batch, double lr) {
  MBERT_ASSIGN_OR_RETURN(ObjectiveResult r, ComputeGradients(batch));
  FineTuneStepResult out;
  out.loss = r.loss;
  out.count = r.count;
  out.correct = r.correct;
  out.lr = lr;
  if (!std::isfinite(r.loss))
    return Status::Error("the loss is not finite (" + std::to_string(r.loss) +
                         "); the weights were not updated");
  // Names the first parameter holding a NaN/Inf gradient, before any weight changes.
  MBERT_RETURN_IF_ERROR(
      FiniteGradientNorm(grads_, ExpectedParams(model_->config()), "fine-tuning step").status());
  std::vector<TensorTable*> tables = {&grads_};
  std::vector<ParamGroup> groups = {{&model_->mutable_params(), &grads_}};
  if (TensorTable* extra = objective_->extra_params()) {
    tables.push_back(objective_->extra_grads());
    groups.push_back({extra, objective_->extra_grads()});
  }
  out.grad_norm = ClipGradNorm(tables, options_.max_grad_norm);
  if (!std::isfinite(out.grad_norm))
    return Status::Error("the gradient norm is not finite; the weights were not updated");
  optimizer_->Step(groups, lr);
  model_->RefreshWeights();
  return out;
}

Result<ObjectiveResult> FineTuner::Evaluate(const TaskBatch& batch) {
  MBERT_RETURN_IF_ERROR(model_->Forward(batch.packed, ctx_, &hidden_));
  return objective_->Run(*model_, batch, hidden_, 1.0f, &grads_, nullptr);
}

}  // namespace mbert
