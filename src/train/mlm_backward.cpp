#include "train/mlm_backward.h"

#include <algorithm>
#include <cmath>

#include "model/linear_backward.h"
#include "ops/cpu/cross_entropy.h"

namespace mbert {

namespace {

// MLM head on the labelled rows: ws->logits (R, V) = decoder(norm(gelu(dense(h[rows])))).
Status RunHead(const Encoder& m, const PackedBatch& batch, MlmWorkspace* ws) {
  const ModelConfig& c = m.config();
  const int64_t C = c.hidden_size, V = c.vocab_size;
  if (batch.labels.size() != batch.input_ids.size())
    return Status::Error("MLM batch needs one label per token (-100 = not predicted)");
  ws->rows.clear();
  ws->labels.clear();
  for (size_t i = 0; i < batch.labels.size(); ++i) {
    const int32_t l = batch.labels[i];
    if (l == c.sparse_pred_ignore_index) continue;
    if (l < 0 || l >= V)
      return Status::Error("label " + std::to_string(l) + " at token " + std::to_string(i) +
                           " is outside the vocabulary");
    ws->rows.push_back(static_cast<int32_t>(i));
    ws->labels.push_back(l);
  }
  const int64_t R = static_cast<int64_t>(ws->rows.size());
  ws->head.x.resize(static_cast<size_t>(R * C));
  float* x = ws->head.x.data();
  for (int64_t r = 0; r < R; ++r)
    std::copy_n(ws->hidden.data() + static_cast<int64_t>(ws->rows[r]) * C, C, x + r * C);
  PredictionHeadForwardTrain(m, R, &ws->head);
  ws->logits.resize(static_cast<size_t>(R * V));
  if (R == 0) return Status::Ok();
  m.linear("decoder.weight").Forward(ws->head.z.data(), R, ws->logits.data());
  return Status::Ok();
}

}  // namespace

Result<MlmStepResult> MlmEvaluate(Encoder& m, const PackedBatch& batch, MlmWorkspace* ws) {
  if (m.config().architecture != Architecture::kMaskedLM)
    return Status::Error("MLM evaluation needs a ModernBertForMaskedLM model");
  MlmWorkspace local;
  if (ws == nullptr) ws = &local;
  MBERT_RETURN_IF_ERROR(m.Forward(batch, ws->ctx, &ws->hidden));
  MBERT_RETURN_IF_ERROR(RunHead(m, batch, ws));
  MlmStepResult r;
  r.predicted = static_cast<int64_t>(ws->rows.size());
  if (r.predicted == 0) return r;
  const int64_t V = m.config().vocab_size;
  r.loss = ops::CrossEntropyForwardBackward(ws->logits.data(), V, ws->labels.data(), r.predicted, V,
                                            nullptr, V, -100, &r.correct);
  return r;
}

Result<MlmStepResult> MlmForwardBackward(Encoder& m, const PackedBatch& batch, TensorTable* grads,
                                         float grad_scale, MlmWorkspace* ws) {
  const ModelConfig& c = m.config();
  if (c.architecture != Architecture::kMaskedLM || !c.tie_word_embeddings)
    return Status::Error("MLM training needs a ModernBertForMaskedLM model with tied embeddings");
  MlmWorkspace local;
  if (ws == nullptr) ws = &local;
  const int64_t N = batch.num_tokens();
  const int64_t C = c.hidden_size, V = c.vocab_size;
  const size_t NC = static_cast<size_t>(N * C);

  MBERT_RETURN_IF_ERROR(m.Forward(batch, ws->ctx, &ws->hidden, &ws->acts));
  MBERT_RETURN_IF_ERROR(RunHead(m, batch, ws));
  const int64_t R = static_cast<int64_t>(ws->rows.size());
  MlmStepResult result;
  result.predicted = R;
  if (R == 0) return result;  // nothing to predict: zero loss, no gradient

  // Loss, accuracy and dlogits (R, V) written over the logits in one pass. grad_scale (the
  // micro-batch weight) enters as the decoder backward's alpha: everything below is linear in it.
  float* dlogits = ws->logits.data();
  result.loss = ops::CrossEntropyForwardBackward(dlogits, V, ws->labels.data(), R, V, dlogits, V,
                                                 -100, &result.correct);

  // Decoder (tied): logits = z·Eᵀ + b; the embedding table gets this part and, in the encoder
  // backward, the lookup part.
  ws->head.dz.resize(static_cast<size_t>(R * C));
  LinearBackward(ws->head.z.data(), R, C, m.param("model.embeddings.tok_embeddings.weight").data(),
                 V, dlogits, ws->head.dz.data(), false,
                 GradOf(grads, "model.embeddings.tok_embeddings.weight"),
                 OptionalGrad(grads, "decoder.bias"), grad_scale);
  PredictionHeadBackward(m, R, ws->head.dz.data(), &ws->head, grads);

  // Scatter the masked rows' gradient back into the packed (N, C) stream.
  ws->dh.resize(NC);
  float* dh = ws->dh.data();
  std::fill(dh, dh + NC, 0.0f);
  for (int64_t r = 0; r < R; ++r)
    std::copy_n(ws->head.dx.data() + r * C, C, dh + static_cast<int64_t>(ws->rows[r]) * C);
  EncoderBackward(m, batch, ws->acts, dh, grads, &ws->backward);
  return result;
}

}  // namespace mbert
