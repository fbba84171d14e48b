// Vocabulary shared by the public API and the library's layers: symbol visibility, weight
// storage type, load options, pooling modes, and the forward's stage hook. Standard headers only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "mbert/status.h"

// Symbols of the public API. The shared library is built with hidden visibility (everything else
// stays internal); these stay visible.
#if defined(_WIN32)
#define MBERT_API
#else
#define MBERT_API __attribute__((visibility("default")))
#endif

namespace mbert {

// Storage type of the large weights (every 2-D parameter: GEMM weights and the token embedding).
// kBF16 rounds them to bf16 (nearest even; exact for a BF16 checkpoint): half the memory, fp32
// compute, inference only. Norms and biases stay fp32.
enum class WeightDtype { kF32, kBF16 };

MBERT_API const char* WeightDtypeName(WeightDtype d);                  // "f32" or "bf16"
MBERT_API Result<WeightDtype> ParseWeightDtype(const std::string& s);  // its inverse

struct LoadOptions {
  WeightDtype dtype = WeightDtype::kF32;
};

// Sentence-embedding pooling (sentence-transformers' modes).
enum class EmbedPooling { kCls, kMean, kMax, kLastToken };
MBERT_API const char* EmbedPoolingName(EmbedPooling p);  // "cls", "mean", "max", "lasttoken"
MBERT_API Result<EmbedPooling> ParseEmbedPooling(const std::string& s);  // also accepts "last"

// One named stage of the forward pass, reported as it is produced (a parity or debugging hook,
// like llama.cpp's eval callback). The forward does the same arithmetic whether or not a hook
// listens. `data` is a read-only (rows, cols) row-major view, valid during the call only; rows
// are the packed tokens of the batch (N).
//
// The stages, in order (layer -1 for the embeddings, L for the final norm):
//   embeddings    (N, C)   LayerNorm(E[ids])                          op "embedding"
//   attn_norm     (N, C)   attn_norm(x), layers > 0                   op "layer_norm"
//   qkv           (N, 3C)  x·Wqkvᵀ, columns [3, H, D]                 op "gemm_wqkv"
//   qkv_rope      (N, 3C)  the same after RoPE on q and k             op "rope"
//   attn          (N, C)   attention output before Wo                 op "attention_global|local"
//   attn_residual (N, C)   the residual stream after x += attn·Woᵀ    op "gemm_wo"
//   mlp_norm      (N, C)   mlp_norm(x)                                op "layer_norm"
//   mlp_wi        (N, 2I)  h·Wiᵀ = [input | gate]                     op "gemm_wi"
//   geglu         (N, I)   gelu(input) * gate                         op "geglu"
//   hidden        (N, C)   the residual stream after the layer        op "gemm_mlp_wo"
//   final_norm    (N, C)   final_norm(x), the last hidden state       op "layer_norm"
// The sublayer outputs on their own are differences of consecutive residual streams
// (attn_out = attn_residual - previous hidden, mlp_out = hidden - attn_residual): the hot path
// accumulates the Wo GEMMs straight into the residual stream and never holds them apart.
struct Stage {
  int layer;         // -1 embeddings, 0..L-1 encoder layers, L final norm
  const char* name;  // e.g. "attn_norm", "qkv_rope", "attn_residual", "hidden"
  const char* op;    // the op that produced it, e.g. "gemm_wqkv", "attention_local"
  const float* data;
  int64_t rows, cols;
};
using StageHook = std::function<void(const Stage&)>;

// Wall-clock seconds per op kind, accumulated over forwards while profiling is on.
struct OpProfile {
  std::map<std::string, double> seconds;
  int64_t tokens = 0;
};

}  // namespace mbert
