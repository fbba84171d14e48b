// Task heads on top of the encoder's final hidden states (N, C), per transformers' ModernBERT:
// prediction head = LayerNorm(GELU(x·Wdᵀ [+ b])); MLM = head · Eᵀ + decoder.bias (tied);
// sequence classification = classifier(head(pool(h))) with cls or masked-mean pooling;
// token classification = classifier(head(h)) per token.
#pragma once

#include <cstdint>
#include <vector>

#include "model/encoder.h"

namespace mbert {

// head(x) for `rows` rows of x (rows, C) -> out (rows, C).
void PredictionHead(const Encoder& m, const float* x, int64_t rows, float* out);

// MLM logits (R, V) for the packed rows listed in `rows` (all N rows when `rows` is empty).
void MaskedLmLogits(const Encoder& m, const float* hidden, int64_t N,
                    const std::vector<int32_t>& rows, std::vector<float>* logits);

// Per-sequence pooling of (N, C) hidden states -> (B, C): kCls takes each sequence's first token,
// kMean averages its tokens.
void PoolSequences(const float* hidden, int64_t C, const std::vector<int32_t>& cu_seqlens,
                   Pooling pooling, std::vector<float>* pooled);

// ModernBertForSequenceClassification logits (B, K).
void SequenceClassificationLogits(const Encoder& m, const float* hidden,
                                  const std::vector<int32_t>& cu_seqlens,
                                  std::vector<float>* logits);

// ModernBertForTokenClassification logits (N, K).
void TokenClassificationLogits(const Encoder& m, const float* hidden, int64_t N,
                               std::vector<float>* logits);

// Row-wise softmax in place over `cols` columns (for probabilities shown to users).
void SoftmaxRows(float* x, int64_t rows, int64_t cols);

}  // namespace mbert
