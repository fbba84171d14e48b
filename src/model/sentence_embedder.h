// Sentence embeddings: pooling (+ optional sentence-transformers Dense modules) + optional L2
// normalisation + Matryoshka truncation. Understands the sentence-transformers layout
// (modules.json, 1_Pooling/config.json, N_Dense/{config.json, model.safetensors}, Normalize);
// a plain HF model directory gets mean pooling.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "mbert/types.h"
#include "model/encoder.h"

namespace mbert {

struct DenseModule {
  Tensor weight;  // (out, in)
  Tensor bias;    // (out) or empty
  bool tanh = false;
};

// A sentence-transformers Dense module directory: config.json (in_features, out_features, bias,
// activation_function Identity or Tanh) and model.safetensors (linear.weight, linear.bias).
Result<DenseModule> ReadDenseModule(const std::string& dir);

class SentenceEmbedder {
 public:
  // Reads the sentence-transformers modules in `dir` if present.
  static Result<SentenceEmbedder> Load(const std::string& dir, const ModelConfig& config);

  EmbedPooling pooling = EmbedPooling::kMean;
  std::vector<DenseModule> dense;
  bool normalize = false;
  bool from_sentence_transformers = false;

  int64_t output_dim(int64_t hidden_size) const;

  // hidden (N, C) final hidden states -> out (B, E), E = output_dim or `dims` if 0 < dims < E
  // (Matryoshka: truncate first, then normalise, as sentence-transformers' truncate_dim does).
  Status Embed(const float* hidden, int64_t C, const std::vector<int32_t>& cu_seqlens, int dims,
               std::vector<float>* out, int64_t* out_dim) const;
  // The same with this call's pooling and normalisation instead of the members' (the Dense
  // modules still apply).
  Status Embed(const float* hidden, int64_t C, const std::vector<int32_t>& cu_seqlens, int dims,
               EmbedPooling pooling, bool normalize, std::vector<float>* out,
               int64_t* out_dim) const;
};

}  // namespace mbert
