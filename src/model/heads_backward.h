// Training forward (with saved activations) and backward of the task heads of heads.h, per
// transformers 5.23 ModernBERT:
//   prediction head  z = LayerNorm(GELU(x·Wdᵀ [+ bd]))            (ModernBertPredictionHead)
//   classifier       logits = z·Wcᵀ [+ bc]                          (nn.Linear, classifier_bias)
//   pooling          cls: first token; mean: average of the sequence's tokens
// The MLM decoder (tied to the token embedding) is the classifier of the MLM objective and lives
// with it. Objectives (src/train/objectives) compute a loss on the logits, then call these
// backwards to get dHidden (N, C) for EncoderBackward. Dropout is not implemented: every
// ModernBERT config sets it to 0, and fine-tuning refuses a config that sets it (finetuner.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/encoder.h"

namespace mbert {

// Saved activations and scratch of the prediction head on R rows (all (R, C) unless noted).
// Reused between calls (resized, never shrunk).
struct PredictionHeadState {
  std::vector<float> x;           // head input; the caller fills it (R·C floats) before Forward
  std::vector<float> t, a, z;     // dense out, GELU out, norm out (= head output)
  std::vector<float> mean, rstd;  // (R) head.norm statistics
  std::vector<float> dz, da, dt, dx;
};

// z = head(x) on R rows of s->x; keeps t, a, mean, rstd for the backward.
void PredictionHeadForwardTrain(const Encoder& m, int64_t R, PredictionHeadState* s);

// From dz (R, C) (read only; may be s->dz): accumulates the gradients of head.dense.weight
// [.bias] and head.norm.weight into `grads` and writes s->dx (R, C) = dLoss/dx.
void PredictionHeadBackward(const Encoder& m, int64_t R, const float* dz, PredictionHeadState* s,
                            TensorTable* grads);

// Classification head on R rows: logits (R, K) = classifier(head(x)), K = num_labels. Used for
// sequence classification (rows = pooled sequences) and token classification (rows = tokens).
struct ClassifierHeadState {
  PredictionHeadState head;
  std::vector<float> logits;  // (R, K)
};

// Reads s->head.x (R, C); writes s->logits (R, K).
void ClassifierHeadForwardTrain(const Encoder& m, int64_t R, ClassifierHeadState* s);

// From dlogits (R, K): accumulates classifier.weight [.bias] and the prediction head's gradients;
// writes s->head.dx (R, C).
void ClassifierHeadBackward(const Encoder& m, int64_t R, const float* dlogits,
                            ClassifierHeadState* s, TensorTable* grads);

// Backward of PoolSequences (heads.h): dpooled (B, C) -> dhidden (N, C), ADDED into dhidden.
// cls: the sequence's first token receives dpooled; mean: every token receives dpooled / len
// (transformers' masked mean: sum over real tokens / their count).
void PoolSequencesBackward(const float* dpooled, int64_t C, const std::vector<int32_t>& cu_seqlens,
                           Pooling pooling, float* dhidden);

}  // namespace mbert
