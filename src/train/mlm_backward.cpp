#include "train/mlm_backward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/heads.h"
#include "ops/cpu/attention.h"
#include "ops/cpu/cross_entropy.h"
#include "ops/cpu/embedding.h"
#include "ops/cpu/gelu.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/layer_norm.h"
#include "ops/cpu/rope.h"

namespace mbert {

namespace {

float* GradOf(TensorTable* grads, const std::string& name) {
  auto it = grads->find(name);
  MBERT_CHECK(it != grads->end(), "no gradient slot for ", name);
  return it->second.data();
}

float* OptionalGrad(TensorTable* grads, const std::string& name) {
  auto it = grads->find(name);
  return it == grads->end() ? nullptr : it->second.data();
}

// Backward of y (M, O) = x (M, K) · Wᵀ (+ b): dW += dyᵀ·x, db += Σ_rows dy, and
// dx = dy·W (written, or added when accumulate_dx).
void LinearBackward(const float* x, int64_t M, int64_t K, const float* W, int64_t O,
                    const float* dy, float* dx, bool accumulate_dx, float* dW, float* db) {
  ops::Gemm(true, false, O, K, M, 1.0f, dy, O, x, K, 1.0f, dW, K);
  if (db != nullptr) {
    for (int64_t r = 0; r < M; ++r)
      for (int64_t o = 0; o < O; ++o) db[o] += dy[r * O + o];
  }
  if (dx != nullptr) ops::Gemm(false, false, M, K, O, 1.0f, dy, O, W, K,
                               accumulate_dx ? 1.0f : 0.0f, dx, K);
}

struct HeadForward {
  std::vector<int32_t> rows, labels;  // (R) packed row index and its label
  std::vector<float> x;               // (R, C) gathered final hidden states
  std::vector<float> t;               // (R, C) dense output (pre-GELU)
  std::vector<float> a;               // (R, C) GELU output
  std::vector<float> z;               // (R, C) head.norm output
  std::vector<float> mean, rstd;      // (R)
  std::vector<float> logits;          // (R, V)
};

Status RunHead(const Model& m, const PackedBatch& batch, const std::vector<float>& hidden,
               HeadForward* hf) {
  const ModelConfig& c = m.config();
  const int64_t C = c.hidden_size, V = c.vocab_size;
  if (batch.labels.size() != batch.input_ids.size())
    return Status::Error("MLM batch needs one label per token (-100 = not predicted)");
  for (size_t i = 0; i < batch.labels.size(); ++i) {
    const int32_t l = batch.labels[i];
    if (l == c.sparse_pred_ignore_index) continue;
    if (l < 0 || l >= V)
      return Status::Error("label " + std::to_string(l) + " at token " + std::to_string(i) +
                           " is outside the vocabulary");
    hf->rows.push_back(static_cast<int32_t>(i));
    hf->labels.push_back(l);
  }
  const int64_t R = static_cast<int64_t>(hf->rows.size());
  hf->x.resize(static_cast<size_t>(R * C));
  for (int64_t r = 0; r < R; ++r)
    std::copy_n(hidden.data() + static_cast<int64_t>(hf->rows[r]) * C, C, hf->x.data() + r * C);
  hf->t.resize(static_cast<size_t>(R * C));
  hf->a.resize(static_cast<size_t>(R * C));
  hf->z.resize(static_cast<size_t>(R * C));
  hf->mean.resize(static_cast<size_t>(R));
  hf->rstd.resize(static_cast<size_t>(R));
  hf->logits.resize(static_cast<size_t>(R * V));
  if (R == 0) return Status::Ok();
  m.linear("head.dense.weight").Forward(hf->x.data(), R, hf->t.data());
  ops::GeluForward(hf->t.data(), hf->a.data(), R * C);
  ops::LayerNormForward(hf->a.data(), C, m.param("head.norm.weight").data(), hf->z.data(), C, R,
                        C, static_cast<float>(c.norm_eps), hf->mean.data(), hf->rstd.data());
  m.linear("decoder.weight").Forward(hf->z.data(), R, hf->logits.data());
  return Status::Ok();
}

int64_t CountCorrect(const HeadForward& hf, int64_t V) {
  int64_t correct = 0;
  for (size_t r = 0; r < hf.rows.size(); ++r) {
    const float* row = hf.logits.data() + r * V;
    correct += (std::max_element(row, row + V) - row) == hf.labels[r];
  }
  return correct;
}

}  // namespace

TensorTable ZeroGradsLike(const TensorTable& params) {
  TensorTable g;
  for (const auto& [name, t] : params) g.emplace(name, Tensor(t.shape()));
  return g;
}

Result<MlmStepResult> MlmEvaluate(Model& m, const PackedBatch& batch) {
  if (m.config().architecture != Architecture::kMaskedLM)
    return Status::Error("MLM evaluation needs a ModernBertForMaskedLM model");
  std::vector<float> hidden;
  MBERT_RETURN_IF_ERROR(m.Forward(batch, &hidden));
  HeadForward hf;
  MBERT_RETURN_IF_ERROR(RunHead(m, batch, hidden, &hf));
  MlmStepResult r;
  r.predicted = static_cast<int64_t>(hf.rows.size());
  if (r.predicted == 0) return r;
  const int64_t V = m.config().vocab_size;
  r.loss = ops::CrossEntropyForwardBackward(hf.logits.data(), V, hf.labels.data(), r.predicted, V,
                                            nullptr, V);
  r.correct = CountCorrect(hf, V);
  return r;
}

Result<MlmStepResult> MlmForwardBackward(Model& m, const PackedBatch& batch, TensorTable* grads,
                                         float grad_scale) {
  const ModelConfig& c = m.config();
  if (c.architecture != Architecture::kMaskedLM || !c.tie_word_embeddings)
    return Status::Error("MLM training needs a ModernBertForMaskedLM model with tied embeddings");
  const int64_t N = batch.num_tokens();
  const int64_t C = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const int H = c.num_attention_heads, D = c.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const size_t NC = static_cast<size_t>(N * C);

  ForwardActivations acts;
  std::vector<float> hidden;
  MBERT_RETURN_IF_ERROR(m.Forward(batch, &hidden, &acts));
  HeadForward hf;
  MBERT_RETURN_IF_ERROR(RunHead(m, batch, hidden, &hf));
  const int64_t R = static_cast<int64_t>(hf.rows.size());
  MlmStepResult result;
  result.predicted = R;
  if (R == 0) return result;  // nothing to predict: zero loss, no gradient

  // Loss and dlogits (R, V), scaled for micro-batch accumulation.
  std::vector<float> dlogits(static_cast<size_t>(R * V));
  result.loss = ops::CrossEntropyForwardBackward(hf.logits.data(), V, hf.labels.data(), R, V,
                                                 dlogits.data(), V);
  result.correct = CountCorrect(hf, V);
  if (grad_scale != 1.0f)
    for (float& g : dlogits) g *= grad_scale;

  const float* E = m.param("model.embeddings.tok_embeddings.weight").data();
  float* dE = GradOf(grads, "model.embeddings.tok_embeddings.weight");

  // Decoder (tied): logits = z·Eᵀ + b.
  std::vector<float> dz(static_cast<size_t>(R * C));
  LinearBackward(hf.z.data(), R, C, E, V, dlogits.data(), dz.data(), false, dE,
                 OptionalGrad(grads, "decoder.bias"));
  // head.norm, GELU, head.dense.
  std::vector<float> da(static_cast<size_t>(R * C));
  ops::LayerNormBackward(hf.a.data(), C, m.param("head.norm.weight").data(), hf.mean.data(),
                         hf.rstd.data(), dz.data(), C, da.data(), C, GradOf(grads, "head.norm.weight"),
                         R, C);
  std::vector<float> dt(static_cast<size_t>(R * C));
  ops::GeluBackward(hf.t.data(), da.data(), dt.data(), R * C);
  std::vector<float> dxr(static_cast<size_t>(R * C));
  LinearBackward(hf.x.data(), R, C, m.param("head.dense.weight").data(), C, dt.data(), dxr.data(),
                 false, GradOf(grads, "head.dense.weight"), OptionalGrad(grads, "head.dense.bias"));

  // Scatter the masked rows' gradient back into the packed (N, C) stream; final_norm backward.
  std::vector<float> dh(NC, 0.0f);
  for (int64_t r = 0; r < R; ++r)
    std::copy_n(dxr.data() + r * C, C, dh.data() + static_cast<int64_t>(hf.rows[r]) * C);
  std::vector<float> dx(NC);
  ops::LayerNormBackward(acts.x_final.data(), C, m.param("model.final_norm.weight").data(),
                         acts.mean_final.data(), acts.rstd_final.data(), dh.data(), C, dx.data(),
                         C, GradOf(grads, "model.final_norm.weight"), N, C);

  std::vector<float> dg(static_cast<size_t>(N * I)), du(static_cast<size_t>(N * 2 * I));
  std::vector<float> dnorm(NC), dattn(NC), dqkv(NC * 3);
  for (int li = static_cast<int>(m.plan().size()) - 1; li >= 0; --li) {
    const LayerSpec& spec = m.plan()[static_cast<size_t>(li)];
    const LayerActivations& la = acts.layers[static_cast<size_t>(li)];
    const std::string pre = "model.layers." + std::to_string(li) + ".";

    // MLP block: x_out = x_mid + Wo(geglu(Wi(mlp_norm(x_mid)))); dx is d(x_out).
    LinearBackward(la.g.data(), N, I, m.param(pre + "mlp.Wo.weight").data(), C, dx.data(),
                   dg.data(), false, GradOf(grads, pre + "mlp.Wo.weight"),
                   OptionalGrad(grads, pre + "mlp.Wo.bias"));
    ops::GegluBackward(la.u.data(), dg.data(), du.data(), N, I);
    LinearBackward(la.h_mlp.data(), N, C, m.param(pre + "mlp.Wi.weight").data(), 2 * I,
                   du.data(), dnorm.data(), false, GradOf(grads, pre + "mlp.Wi.weight"),
                   OptionalGrad(grads, pre + "mlp.Wi.bias"));
    ops::LayerNormBackward(la.x_mid.data(), C, m.param(pre + "mlp_norm.weight").data(),
                           la.mean_mlp.data(), la.rstd_mlp.data(), dnorm.data(), C, dnorm.data(),
                           C, GradOf(grads, pre + "mlp_norm.weight"), N, C);
    for (size_t k = 0; k < NC; ++k) dx[k] += dnorm[k];  // dx is now d(x_mid)

    // Attention block: x_mid = x_in + Wo(attn(rope(Wqkv(attn_norm(x_in))))).
    LinearBackward(la.attn.data(), N, C, m.param(pre + "attn.Wo.weight").data(), C, dx.data(),
                   dattn.data(), false, GradOf(grads, pre + "attn.Wo.weight"),
                   OptionalGrad(grads, pre + "attn.Wo.bias"));
    const float* qkv = la.qkv.data();
    ops::AttentionBackward(qkv, qkv + C, qkv + 2 * C, 3 * C, la.attn.data(), dattn.data(), C,
                           la.lse.data(), dqkv.data(), dqkv.data() + C, dqkv.data() + 2 * C,
                           3 * C, batch.cu_seqlens.data(), batch.num_seqs(), H, D, spec.window,
                           scale);
    ops::RopeBackward(dqkv.data(), 3 * C, batch.positions.data(), N, H, D, m.rope(spec.global));
    LinearBackward(la.h_attn.data(), N, C, m.param(pre + "attn.Wqkv.weight").data(), 3 * C,
                   dqkv.data(), dnorm.data(), false, GradOf(grads, pre + "attn.Wqkv.weight"),
                   OptionalGrad(grads, pre + "attn.Wqkv.bias"));
    if (spec.has_attn_norm) {
      ops::LayerNormBackward(la.x_in.data(), C, m.param(pre + "attn_norm.weight").data(),
                             la.mean_attn.data(), la.rstd_attn.data(), dnorm.data(), C,
                             dnorm.data(), C, GradOf(grads, pre + "attn_norm.weight"), N, C);
    }
    for (size_t k = 0; k < NC; ++k) dx[k] += dnorm[k];  // dx is now d(x_in)
  }

  // Embedding norm and lookup (padding_idx rows get no gradient, as nn.Embedding).
  ops::LayerNormBackward(acts.emb.data(), C, m.param("model.embeddings.norm.weight").data(),
                         acts.mean_emb.data(), acts.rstd_emb.data(), dx.data(), C, dnorm.data(), C,
                         GradOf(grads, "model.embeddings.norm.weight"), N, C);
  ops::EmbeddingBackward(dnorm.data(), batch.input_ids.data(), N, C, dE, c.pad_token_id);
  return result;
}

}  // namespace mbert
