#include "train/classification_objectives.h"

#include <algorithm>
#include <string>

#include "model/heads.h"
#include "ops/cpu/cross_entropy.h"

namespace mbert {

namespace {

void Scale(std::vector<float>* v, float s) {
  if (s == 1.0f) return;
  for (float& x : *v) x *= s;
}

}  // namespace

Status SequenceClassificationObjective::CheckModel(const Encoder& m) const {
  if (m.config().architecture != Architecture::kSequenceClassification)
    return Status::Error(
        "sequence classification needs a ModernBertForSequenceClassification "
        "model (config.json architectures), not " +
        m.config().architecture_name);
  if (m.config().num_labels() < 1) return Status::Error("the model has no labels (num_labels 0)");
  return Status::Ok();
}

Result<ObjectiveResult> SequenceClassificationObjective::Run(const Encoder& m, const TaskBatch& b,
                                                             const std::vector<float>& hidden,
                                                             float grad_scale, TensorTable* grads,
                                                             std::vector<float>* dhidden) {
  MBERT_RETURN_IF_ERROR(CheckModel(m));
  const ModelConfig& c = m.config();
  const int64_t C = c.hidden_size, K = c.num_labels(), N = b.packed.num_tokens();
  const int64_t B = b.packed.num_seqs();
  const bool regression = K == 1;
  if (regression && static_cast<int64_t>(b.targets.size()) != B)
    return Status::Error("regression (num_labels 1) needs one target per sequence: " +
                         std::to_string(b.targets.size()) + " targets for " + std::to_string(B) +
                         " sequences");
  if (!regression && static_cast<int64_t>(b.labels.size()) != B)
    return Status::Error(
        "sequence classification needs one label per sequence: " + std::to_string(b.labels.size()) +
        " labels for " + std::to_string(B) + " sequences");
  for (int64_t i = 0; !regression && i < B; ++i) {
    if (b.labels[i] < 0 || b.labels[i] >= K)
      return Status::Error("label " + std::to_string(b.labels[i]) + " of sequence " +
                           std::to_string(i) + " is outside [0, " + std::to_string(K) + ")");
  }
  MBERT_CHECK(static_cast<int64_t>(hidden.size()) == N * C, "hidden states of another batch");

  PoolSequences(hidden.data(), C, b.packed.cu_seqlens, c.classifier_pooling, &pooled_);
  state_.head.x = pooled_;
  ClassifierHeadForwardTrain(m, B, &state_);

  ObjectiveResult r;
  r.count = B;
  dlogits_.assign(static_cast<size_t>(B * K), 0.0f);
  if (regression) {
    // MSELoss(logits.squeeze(), labels.squeeze()), mean over B; d/dlogit = 2 (logit − t) / B.
    double sum = 0.0;
    for (int64_t i = 0; i < B; ++i) {
      const float d = state_.logits[i] - b.targets[i];
      sum += static_cast<double>(d) * d;
      dlogits_[i] = 2.0f * d / static_cast<float>(B);
    }
    r.loss = sum / static_cast<double>(B);
  } else {
    r.loss = ops::CrossEntropyForwardBackward(state_.logits.data(), K, b.labels.data(), B, K,
                                              dlogits_.data(), K, -100, &r.correct);
  }
  if (dhidden == nullptr) return r;

  Scale(&dlogits_, grad_scale);
  ClassifierHeadBackward(m, B, dlogits_.data(), &state_, grads);
  dhidden->assign(static_cast<size_t>(N * C), 0.0f);
  PoolSequencesBackward(state_.head.dx.data(), C, b.packed.cu_seqlens, c.classifier_pooling,
                        dhidden->data());
  return r;
}

Status TokenClassificationObjective::CheckModel(const Encoder& m) const {
  if (m.config().architecture != Architecture::kTokenClassification)
    return Status::Error(
        "token classification needs a ModernBertForTokenClassification model "
        "(config.json architectures), not " +
        m.config().architecture_name);
  if (m.config().num_labels() < 1) return Status::Error("the model has no labels (num_labels 0)");
  return Status::Ok();
}

Result<ObjectiveResult> TokenClassificationObjective::Run(const Encoder& m, const TaskBatch& b,
                                                          const std::vector<float>& hidden,
                                                          float grad_scale, TensorTable* grads,
                                                          std::vector<float>* dhidden) {
  MBERT_RETURN_IF_ERROR(CheckModel(m));
  const ModelConfig& c = m.config();
  const int64_t C = c.hidden_size, K = c.num_labels(), N = b.packed.num_tokens();
  if (static_cast<int64_t>(b.labels.size()) != N)
    return Status::Error("token classification needs one label per token (-100 = none): " +
                         std::to_string(b.labels.size()) + " labels for " + std::to_string(N) +
                         " tokens");
  MBERT_CHECK(static_cast<int64_t>(hidden.size()) == N * C, "hidden states of another batch");
  rows_.clear();
  labels_.clear();
  for (int64_t i = 0; i < N; ++i) {
    const int32_t l = b.labels[i];
    if (l == -100) continue;
    if (l < 0 || l >= K)
      return Status::Error("label " + std::to_string(l) + " of token " + std::to_string(i) +
                           " is outside [0, " + std::to_string(K) + ") and is not -100");
    rows_.push_back(static_cast<int32_t>(i));
    labels_.push_back(l);
  }
  const int64_t R = static_cast<int64_t>(rows_.size());
  // transformers would return NaN (a mean over no tokens); a batch without labels is a data error.
  if (R == 0) return Status::Error("token classification batch has no labelled token");
  state_.head.x.resize(static_cast<size_t>(R * C));
  for (int64_t r = 0; r < R; ++r)
    std::copy_n(hidden.data() + static_cast<int64_t>(rows_[r]) * C, C,
                state_.head.x.data() + r * C);
  ClassifierHeadForwardTrain(m, R, &state_);

  ObjectiveResult r;
  r.count = R;
  dlogits_.resize(static_cast<size_t>(R * K));
  r.loss = ops::CrossEntropyForwardBackward(state_.logits.data(), K, labels_.data(), R, K,
                                            dlogits_.data(), K, -100, &r.correct);
  if (dhidden == nullptr) return r;

  Scale(&dlogits_, grad_scale);
  ClassifierHeadBackward(m, R, dlogits_.data(), &state_, grads);
  dhidden->assign(static_cast<size_t>(N * C), 0.0f);
  for (int64_t i = 0; i < R; ++i)
    std::copy_n(state_.head.dx.data() + i * C, C, dhidden->data() + rows_[i] * C);
  return r;
}

}  // namespace mbert
