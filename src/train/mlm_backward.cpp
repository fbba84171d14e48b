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

template <typename V>
float* Sized(V& v, size_t n) {
  v.resize(n);
  return v.data();
}

// Backward of y (M, O) = x (M, K) · Wᵀ (+ b), scaled by alpha: dW += alpha·dyᵀ·x,
// db += alpha·Σ_rows dy, and dx = alpha·dy·W (written, or added when accumulate_dx).
void LinearBackward(const float* x, int64_t M, int64_t K, const float* W, int64_t O,
                    const float* dy, float* dx, bool accumulate_dx, float* dW, float* db,
                    float alpha = 1.0f) {
  ops::Gemm(true, false, O, K, M, alpha, dy, O, x, K, 1.0f, dW, K);
  if (db != nullptr) {
    // Column blocks of 256 (one per task), rows summed in order inside each: deterministic, and
    // the inner loop runs along a row (contiguous, vectorised).
    constexpr int64_t kBlock = 256;
    const int64_t nblocks = (O + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (M * O >= (1 << 16))
    for (int64_t blk = 0; blk < nblocks; ++blk) {
      const int64_t o0 = blk * kBlock, o1 = std::min(O, o0 + kBlock);
      float s[kBlock] = {};
      for (int64_t r = 0; r < M; ++r) {
        const float* row = dy + r * O;
#pragma omp simd
        for (int64_t o = o0; o < o1; ++o) s[o - o0] += row[o];
      }
      for (int64_t o = o0; o < o1; ++o) db[o] += alpha * s[o - o0];
    }
  }
  if (dx != nullptr)
    ops::Gemm(false, false, M, K, O, alpha, dy, O, W, K, accumulate_dx ? 1.0f : 0.0f, dx, K);
}

// dst[k] += src[k] over n floats.
void AddInto(float* dst, const float* src, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t k = 0; k < n; ++k) dst[k] += src[k];
}

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
  const size_t RC = static_cast<size_t>(R * C);
  float* x = Sized(ws->x, RC);
  for (int64_t r = 0; r < R; ++r)
    std::copy_n(ws->hidden.data() + static_cast<int64_t>(ws->rows[r]) * C, C, x + r * C);
  float* t = Sized(ws->t, RC);
  float* a = Sized(ws->a, RC);
  float* z = Sized(ws->z, RC);
  Sized(ws->mean, static_cast<size_t>(R));
  Sized(ws->rstd, static_cast<size_t>(R));
  float* logits = Sized(ws->logits, static_cast<size_t>(R * V));
  if (R == 0) return Status::Ok();
  m.linear("head.dense.weight").Forward(x, R, t);
  ops::GeluForward(t, a, R * C);
  ops::LayerNormForward(a, C, m.param("head.norm.weight").data(), z, C, R, C,
                        static_cast<float>(c.norm_eps), ws->mean.data(), ws->rstd.data());
  m.linear("decoder.weight").Forward(z, R, logits);
  return Status::Ok();
}

}  // namespace

TensorTable ZeroGradsLike(const TensorTable& params) {
  TensorTable g;
  for (const auto& [name, t] : params) g.emplace(name, Tensor(t.shape()));
  return g;
}

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
  const int64_t C = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const int H = c.num_attention_heads, D = c.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const size_t NC = static_cast<size_t>(N * C);

  ForwardActivations& acts = ws->acts;
  MBERT_RETURN_IF_ERROR(m.Forward(batch, ws->ctx, &ws->hidden, &acts));
  MBERT_RETURN_IF_ERROR(RunHead(m, batch, ws));
  const int64_t R = static_cast<int64_t>(ws->rows.size());
  const size_t RC = static_cast<size_t>(R * C);
  MlmStepResult result;
  result.predicted = R;
  if (R == 0) return result;  // nothing to predict: zero loss, no gradient

  // Loss, accuracy and dlogits (R, V) written over the logits in one pass. grad_scale (the
  // micro-batch weight) enters as the decoder backward's alpha: everything below is linear in it.
  float* dlogits = ws->logits.data();
  result.loss = ops::CrossEntropyForwardBackward(dlogits, V, ws->labels.data(), R, V, dlogits, V,
                                                 -100, &result.correct);

  const float* E = m.param("model.embeddings.tok_embeddings.weight").data();
  float* dE = GradOf(grads, "model.embeddings.tok_embeddings.weight");

  // Decoder (tied): logits = z·Eᵀ + b.
  float* dz = Sized(ws->dz, RC);
  LinearBackward(ws->z.data(), R, C, E, V, dlogits, dz, false, dE,
                 OptionalGrad(grads, "decoder.bias"), grad_scale);
  // head.norm, GELU, head.dense.
  float* da = Sized(ws->da, RC);
  ops::LayerNormBackward(ws->a.data(), C, m.param("head.norm.weight").data(), ws->mean.data(),
                         ws->rstd.data(), dz, C, da, C, GradOf(grads, "head.norm.weight"), R, C);
  float* dt = Sized(ws->dt, RC);
  ops::GeluBackward(ws->t.data(), da, dt, R * C);
  float* dxr = Sized(ws->dxr, RC);
  LinearBackward(ws->x.data(), R, C, m.param("head.dense.weight").data(), C, dt, dxr, false,
                 GradOf(grads, "head.dense.weight"), OptionalGrad(grads, "head.dense.bias"));

  // Scatter the masked rows' gradient back into the packed (N, C) stream; final_norm backward.
  float* dh = Sized(ws->dh, NC);
  std::fill(dh, dh + NC, 0.0f);
  for (int64_t r = 0; r < R; ++r)
    std::copy_n(dxr + r * C, C, dh + static_cast<int64_t>(ws->rows[r]) * C);
  float* dx = Sized(ws->dx, NC);
  ops::LayerNormBackward(acts.x_final.data(), C, m.param("model.final_norm.weight").data(),
                         acts.mean_final.data(), acts.rstd_final.data(), dh, C, dx, C,
                         GradOf(grads, "model.final_norm.weight"), N, C);

  float* dg = Sized(ws->dg, static_cast<size_t>(N * I));
  float* du = Sized(ws->du, static_cast<size_t>(N * 2 * I));
  float* dnorm = Sized(ws->dnorm, NC);
  float* dattn = Sized(ws->dattn, NC);
  float* dqkv = Sized(ws->dqkv, NC * 3);
  for (int li = static_cast<int>(m.plan().size()) - 1; li >= 0; --li) {
    const LayerSpec& spec = m.plan()[static_cast<size_t>(li)];
    const LayerActivations& la = acts.layers[static_cast<size_t>(li)];
    const std::string pre = "model.layers." + std::to_string(li) + ".";

    // MLP block: x_out = x_mid + Wo(geglu(Wi(mlp_norm(x_mid)))); dx is d(x_out).
    LinearBackward(la.g.data(), N, I, m.param(pre + "mlp.Wo.weight").data(), C, dx, dg, false,
                   GradOf(grads, pre + "mlp.Wo.weight"), OptionalGrad(grads, pre + "mlp.Wo.bias"));
    ops::GegluBackward(la.u.data(), dg, du, N, I);
    LinearBackward(la.h_mlp.data(), N, C, m.param(pre + "mlp.Wi.weight").data(), 2 * I, du, dnorm,
                   false, GradOf(grads, pre + "mlp.Wi.weight"),
                   OptionalGrad(grads, pre + "mlp.Wi.bias"));
    ops::LayerNormBackward(la.x_mid.data(), C, m.param(pre + "mlp_norm.weight").data(),
                           la.mean_mlp.data(), la.rstd_mlp.data(), dnorm, C, dnorm, C,
                           GradOf(grads, pre + "mlp_norm.weight"), N, C);
    AddInto(dx, dnorm, NC);  // dx is now d(x_mid)

    // Attention block: x_mid = x_in + Wo(attn(rope(Wqkv(attn_norm(x_in))))).
    LinearBackward(la.attn.data(), N, C, m.param(pre + "attn.Wo.weight").data(), C, dx, dattn,
                   false, GradOf(grads, pre + "attn.Wo.weight"),
                   OptionalGrad(grads, pre + "attn.Wo.bias"));
    const float* qkv = la.qkv.data();
    ops::AttentionBackward(qkv, qkv + C, qkv + 2 * C, 3 * C, la.attn.data(), dattn, C,
                           la.lse.data(), dqkv, dqkv + C, dqkv + 2 * C, 3 * C,
                           batch.cu_seqlens.data(), batch.num_seqs(), H, D, spec.window, scale);
    ops::RopeBackward(dqkv, 3 * C, batch.positions.data(), N, H, D, m.rope(spec.global));
    LinearBackward(la.h_attn.data(), N, C, m.param(pre + "attn.Wqkv.weight").data(), 3 * C, dqkv,
                   dnorm, false, GradOf(grads, pre + "attn.Wqkv.weight"),
                   OptionalGrad(grads, pre + "attn.Wqkv.bias"));
    if (spec.has_attn_norm) {
      ops::LayerNormBackward(la.x_in.data(), C, m.param(pre + "attn_norm.weight").data(),
                             la.mean_attn.data(), la.rstd_attn.data(), dnorm, C, dnorm, C,
                             GradOf(grads, pre + "attn_norm.weight"), N, C);
    }
    AddInto(dx, dnorm, NC);  // dx is now d(x_in)
  }

  // Embedding norm and lookup (padding_idx rows get no gradient, as nn.Embedding).
  ops::LayerNormBackward(acts.emb.data(), C, m.param("model.embeddings.norm.weight").data(),
                         acts.mean_emb.data(), acts.rstd_emb.data(), dx, C, dnorm, C,
                         GradOf(grads, "model.embeddings.norm.weight"), N, C);
  ops::EmbeddingBackward(dnorm, batch.input_ids.data(), N, C, dE, c.pad_token_id);
  return result;
}

}  // namespace mbert
