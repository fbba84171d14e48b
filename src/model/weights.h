// The HF weight table: names, expected shapes, loading from a model directory (single or sharded
// safetensors, F32/BF16/F16, keys with or without the `model.` prefix) and saving in HF layout.
// Names are kept verbatim in the canonical task-model form (`model.layers.{i}.attn.Wqkv.weight`,
// `head.dense.weight`, `decoder.bias`, `classifier.weight`), layout (out, in) as in PyTorch.
#pragma once

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "mbert/status.h"
#include "model/config.h"

namespace mbert {

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// Every parameter the architecture in `c` owns (the tied decoder weight is not listed: it is
// model.embeddings.tok_embeddings.weight).
std::vector<ParamSpec> ExpectedParams(const ModelConfig& c);

// Loads all expected parameters of `c` from `dir` (model.safetensors or
// model.safetensors.index.json), converted once to fp32. Errors name the file and tensor, with
// expected vs found shapes.
Result<TensorTable> LoadWeights(const std::string& dir, const ModelConfig& c);

// Loads like LoadWeights, but every 2-D parameter (the GEMM weights and the token embedding) goes
// into `bf16`, converted straight from the checkpoint (rounded to nearest even; copied when it is
// BF16), and only the others (norms, biases) into `f32`.
Status LoadWeightsBf16(const std::string& dir, const ModelConfig& c, TensorTable* f32,
                       Bf16Table* bf16);

// Saves `params` as `dir/model.safetensors` (atomic) with HF key names for c.architecture
// (ModernBertModel checkpoints drop the `model.` prefix, as transformers does), every tensor in
// `dtype`: F32 (exact) or BF16 (rounded to nearest even, as torch's .to(torch.bfloat16)).
Status SaveWeights(const std::string& dir, const ModelConfig& c, const TensorTable& params,
                   DType dtype = DType::kF32);

}  // namespace mbert
