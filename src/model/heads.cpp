#include "model/heads.h"

#include <algorithm>
#include <cmath>

#include "ops/cpu/gelu.h"
#include "ops/cpu/layer_norm.h"

namespace mbert {

void PredictionHead(const Encoder& m, const float* x, int64_t rows, float* out) {
  const int64_t C = m.config().hidden_size;
  std::vector<float> t(static_cast<size_t>(rows * C));
  m.linear("head.dense.weight").Forward(x, rows, t.data());
  ops::GeluForward(t.data(), t.data(), rows * C);
  ops::LayerNormForward(t.data(), C, m.param("head.norm.weight").data(), out, C, rows, C,
                        static_cast<float>(m.config().norm_eps), nullptr, nullptr);
}

void MaskedLmLogits(const Encoder& m, const float* hidden, int64_t N,
                    const std::vector<int32_t>& rows, std::vector<float>* logits) {
  const int64_t C = m.config().hidden_size, V = m.config().vocab_size;
  std::vector<float> gathered;
  const float* x = hidden;
  int64_t R = N;
  if (!rows.empty()) {  // sparse prediction: only the requested rows go through head + decoder
    R = static_cast<int64_t>(rows.size());
    gathered.resize(static_cast<size_t>(R * C));
    for (int64_t r = 0; r < R; ++r) {
      MBERT_CHECK(rows[r] >= 0 && rows[r] < N, "row ", rows[r], " outside [0, ", N, ")");
      std::copy_n(hidden + static_cast<int64_t>(rows[r]) * C, C, gathered.data() + r * C);
    }
    x = gathered.data();
  }
  std::vector<float> head(static_cast<size_t>(R * C));
  PredictionHead(m, x, R, head.data());
  logits->resize(static_cast<size_t>(R * V));
  m.linear("decoder.weight").Forward(head.data(), R, logits->data());
}

void PoolSequences(const float* hidden, int64_t C, const std::vector<int32_t>& cu_seqlens,
                   Pooling pooling, std::vector<float>* pooled) {
  const int64_t B = static_cast<int64_t>(cu_seqlens.size()) - 1;
  pooled->assign(static_cast<size_t>(B * C), 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    float* out = pooled->data() + b * C;
    const int64_t begin = cu_seqlens[b], end = cu_seqlens[b + 1];
    if (pooling == Pooling::kCls) {
      std::copy_n(hidden + begin * C, C, out);
      continue;
    }
    // Masked mean over the sequence's real tokens; summed in double so long sequences do not
    // lose precision, then divided once (transformers sums in fp32: differences stay ~1e-7).
    std::vector<double> acc(static_cast<size_t>(C), 0.0);
    for (int64_t t = begin; t < end; ++t)
      for (int64_t k = 0; k < C; ++k) acc[k] += hidden[t * C + k];
    for (int64_t k = 0; k < C; ++k) out[k] = static_cast<float>(acc[k] / (end - begin));
  }
}

void SequenceClassificationLogits(const Encoder& m, const float* hidden,
                                  const std::vector<int32_t>& cu_seqlens,
                                  std::vector<float>* logits) {
  const int64_t C = m.config().hidden_size;
  const int64_t B = static_cast<int64_t>(cu_seqlens.size()) - 1;
  std::vector<float> pooled, head(static_cast<size_t>(B * C));
  PoolSequences(hidden, C, cu_seqlens, m.config().classifier_pooling, &pooled);
  PredictionHead(m, pooled.data(), B, head.data());
  logits->resize(static_cast<size_t>(B * m.config().num_labels()));
  m.linear("classifier.weight").Forward(head.data(), B, logits->data());
}

void TokenClassificationLogits(const Encoder& m, const float* hidden, int64_t N,
                               std::vector<float>* logits) {
  const int64_t C = m.config().hidden_size;
  std::vector<float> head(static_cast<size_t>(N * C));
  PredictionHead(m, hidden, N, head.data());
  logits->resize(static_cast<size_t>(N * m.config().num_labels()));
  m.linear("classifier.weight").Forward(head.data(), N, logits->data());
}

void SoftmaxRows(float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    const float mx = *std::max_element(row, row + cols);
    double sum = 0.0;
    for (int64_t k = 0; k < cols; ++k) {
      row[k] = std::exp(row[k] - mx);
      sum += row[k];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t k = 0; k < cols; ++k) row[k] *= inv;
  }
}

}  // namespace mbert
