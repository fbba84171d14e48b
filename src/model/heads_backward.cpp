#include "model/heads_backward.h"

#include "model/grads.h"
#include "model/linear_backward.h"
#include "ops/cpu/gelu.h"
#include "ops/cpu/layer_norm.h"

namespace mbert {

namespace {

template <typename V>
float* Sized(V& v, size_t n) {
  v.resize(n);
  return v.data();
}

}  // namespace

void PredictionHeadForwardTrain(const Encoder& m, int64_t R, PredictionHeadState* s) {
  const int64_t C = m.config().hidden_size;
  const size_t RC = static_cast<size_t>(R * C);
  MBERT_CHECK(s->x.size() >= RC, "prediction head input holds ", s->x.size(), " floats, need ", RC);
  float* t = Sized(s->t, RC);
  float* a = Sized(s->a, RC);
  float* z = Sized(s->z, RC);
  Sized(s->mean, static_cast<size_t>(R));
  Sized(s->rstd, static_cast<size_t>(R));
  if (R == 0) return;
  m.linear("head.dense.weight").Forward(s->x.data(), R, t);
  ops::GeluForward(t, a, R * C);
  ops::LayerNormForward(a, C, m.param("head.norm.weight").data(), z, C, R, C,
                        static_cast<float>(m.config().norm_eps), s->mean.data(), s->rstd.data());
}

void PredictionHeadBackward(const Encoder& m, int64_t R, const float* dz, PredictionHeadState* s,
                            TensorTable* grads) {
  const int64_t C = m.config().hidden_size;
  const size_t RC = static_cast<size_t>(R * C);
  float* da = Sized(s->da, RC);
  float* dt = Sized(s->dt, RC);
  float* dx = Sized(s->dx, RC);
  if (R == 0) return;
  ops::LayerNormBackward(s->a.data(), C, m.param("head.norm.weight").data(), s->mean.data(),
                         s->rstd.data(), dz, C, da, C, GradOf(grads, "head.norm.weight"), R, C);
  ops::GeluBackward(s->t.data(), da, dt, R * C);
  LinearBackward(s->x.data(), R, C, m.param("head.dense.weight").data(), C, dt, dx, false,
                 GradOf(grads, "head.dense.weight"), OptionalGrad(grads, "head.dense.bias"));
}

void ClassifierHeadForwardTrain(const Encoder& m, int64_t R, ClassifierHeadState* s) {
  const int64_t K = m.config().num_labels();
  PredictionHeadForwardTrain(m, R, &s->head);
  float* logits = Sized(s->logits, static_cast<size_t>(R * K));
  if (R == 0) return;
  m.linear("classifier.weight").Forward(s->head.z.data(), R, logits);
}

void ClassifierHeadBackward(const Encoder& m, int64_t R, const float* dlogits,
                            ClassifierHeadState* s, TensorTable* grads) {
  const int64_t C = m.config().hidden_size, K = m.config().num_labels();
  float* dz = Sized(s->head.dz, static_cast<size_t>(R * C));
  if (R > 0) {
    LinearBackward(s->head.z.data(), R, C, m.param("classifier.weight").data(), K, dlogits, dz,
                   false, GradOf(grads, "classifier.weight"),
                   OptionalGrad(grads, "classifier.bias"));
  }
  PredictionHeadBackward(m, R, dz, &s->head, grads);
}

void PoolSequencesBackward(const float* dpooled, int64_t C, const std::vector<int32_t>& cu_seqlens,
                           Pooling pooling, float* dhidden) {
  const int64_t B = static_cast<int64_t>(cu_seqlens.size()) - 1;
  for (int64_t b = 0; b < B; ++b) {
    const float* d = dpooled + b * C;
    const int64_t begin = cu_seqlens[b], end = cu_seqlens[b + 1];
    if (pooling == Pooling::kCls) {
      float* row = dhidden + begin * C;
      for (int64_t k = 0; k < C; ++k) row[k] += d[k];
      continue;
    }
    // The forward divides the sum once by the count (in double); its derivative is 1/len per
    // token, rounded once to fp32 like transformers' division.
    const float inv = static_cast<float>(1.0 / static_cast<double>(end - begin));
    for (int64_t t = begin; t < end; ++t) {
      float* row = dhidden + t * C;
      for (int64_t k = 0; k < C; ++k) row[k] += d[k] * inv;
    }
  }
}

}  // namespace mbert
