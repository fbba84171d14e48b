// Sequence and token classification objectives, computed as transformers 5.23's
// ModernBertForSequenceClassification / ModernBertForTokenClassification compute their loss
// (dropout is 0 in ModernBERT configs and not implemented here):
//   sequence: pooled = cls or mean pooling of each sequence (config.classifier_pooling),
//             logits (B, K) = classifier(head(pooled)); problem_type is chosen as transformers
//             does when it is unset: K == 1 -> regression, MSELoss(logits.squeeze(), targets)
//             (mean over B); K > 1 with integer labels -> CrossEntropyLoss (mean over B).
//             Multi-label (BCE) is not supported.
//   token:    logits (N, K) = classifier(head(hidden)); CrossEntropyLoss(ignore_index=-100), mean
//             over labelled tokens. The head runs on the labelled rows only: its LayerNorm is per
//             row, so unlabelled rows carry no gradient and are skipped.
#pragma once

#include <vector>

#include "model/heads_backward.h"
#include "train/objective.h"

namespace mbert {

class SequenceClassificationObjective : public Objective {
 public:
  Status CheckModel(const Encoder& m) const override;
  Result<ObjectiveResult> Run(const Encoder& m, const TaskBatch& b,
                              const std::vector<float>& hidden, float grad_scale,
                              TensorTable* grads, std::vector<float>* dhidden) override;
  // (B, K) logits of the last Run (for metrics).
  const std::vector<float>& logits() const { return state_.logits; }

 private:
  ClassifierHeadState state_;
  std::vector<float> pooled_, dlogits_;
};

class TokenClassificationObjective : public Objective {
 public:
  Status CheckModel(const Encoder& m) const override;
  Result<ObjectiveResult> Run(const Encoder& m, const TaskBatch& b,
                              const std::vector<float>& hidden, float grad_scale,
                              TensorTable* grads, std::vector<float>* dhidden) override;
  // (R, K) logits of the last Run for its labelled tokens (label != -100), in token order, and
  // those tokens' indices in the batch (R): what metrics compare with the labels.
  const std::vector<float>& logits() const { return state_.logits; }
  const std::vector<int32_t>& labelled_rows() const { return rows_; }

 private:
  ClassifierHeadState state_;
  std::vector<int32_t> rows_, labels_;
  std::vector<float> dlogits_;
};

}  // namespace mbert
