#include "model/encoder_backward.h"

#include <cmath>
#include <string>

#include "model/grads.h"
#include "model/linear_backward.h"
#include "ops/cpu/attention.h"
#include "ops/cpu/embedding.h"
#include "ops/cpu/gelu.h"
#include "ops/cpu/layer_norm.h"
#include "ops/cpu/rope.h"

namespace mbert {

namespace {

template <typename V>
float* Sized(V& v, size_t n) {
  v.resize(n);
  return v.data();
}

}  // namespace

void EncoderBackward(const Encoder& m, const PackedBatch& batch, const ForwardActivations& acts,
                     const float* dhidden, TensorTable* grads, EncoderBackwardWorkspace* ws) {
  const ModelConfig& c = m.config();
  const int64_t N = batch.num_tokens();
  const int64_t C = c.hidden_size, I = c.intermediate_size;
  const int H = c.num_attention_heads, D = c.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const size_t NC = static_cast<size_t>(N * C);
  MBERT_CHECK(acts.layers.size() == m.plan().size() && acts.x_final.size() == NC,
              "EncoderBackward: activations are not those of this batch (", acts.x_final.size(),
              " saved values, expected ", NC, ")");

  // final_norm backward: dx = d(residual stream after the last layer).
  float* dx = Sized(ws->dx, NC);
  ops::LayerNormBackward(acts.x_final.data(), C, m.param("model.final_norm.weight").data(),
                         acts.mean_final.data(), acts.rstd_final.data(), dhidden, C, dx, C,
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
  ops::EmbeddingBackward(dnorm, batch.input_ids.data(), N, C,
                         GradOf(grads, "model.embeddings.tok_embeddings.weight"), c.pad_token_id);
}

}  // namespace mbert
