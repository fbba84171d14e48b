// Initialisation for training from scratch and for growing a model.
//
// MegatronInit (reference §5.6, `init_method: full_megatron`): every matrix is drawn from a
// normal N(0, σ²) truncated to [−c·σ, +c·σ] (c = initializer_cutoff_factor, 2 in the recipe):
//   token embedding ("emb"), attn.Wqkv and mlp.Wi ("in"):       σ = initializer_range (0.02)
//   attn.Wo and mlp.Wo ("out"):                                  σ = 0.02 / sqrt(2·L)
//   head.dense:  HF `_init_weights` uses the "out" σ (this default); the original repo used the
//                "in" σ 0.02 (HeadDenseInit::kOriginal). Reference §7.3 item 10.
//   decoder.weight (only when untied; HF): "out" σ.   classifier.weight: hidden^-0.5.
//   every *norm.weight: 1;   every bias: 0.
// The embedding's padding row is drawn like the others (the init overwrites nn.Embedding's zero
// padding row, as in HF and the original). L is the total depth, not the layer index.
// Random streams are per tensor name (and per 2^20-element chunk), so the result depends only on
// the seed and the names, not on iteration order or thread count. The values follow the same
// distribution as torch.nn.init.trunc_normal_, not the same bits.
//
// TileFromSmaller (reference §5.7, ModernBERT-large from base, "centre tiling with wraparound"):
// for every dimension independently, off = (n_new − n_old) // 2 and
//   W_new[i, j] = W_old[(i − off_r) mod r_old, (j − off_c) mod c_old]
// (1-D alike), i.e. the old tensor sits in the middle and the borders wrap around cyclically; no
// rescaling. Fused tensors are split into their parts first (Wqkv: q, k, v row blocks; Wi: input
// and gate row blocks), each part tiled, then re-concatenated. Depth: new layer i takes old layer
// round_half_even(i · L_old / L_new) (clamped to the last old layer). A parameter with no source
// (attn_norm of a new layer i ≥ 1 mapped to old layer 0, which has none) keeps its current
// (initialised) value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "batch/rng.h"
#include "core/tensor.h"
#include "mbert/status.h"
#include "model/config.h"

namespace mbert {

enum class HeadDenseInit { kHf, kOriginal };

struct InitOptions {
  double initializer_range = 0.02;
  double cutoff_factor = 2.0;  // HF treats a missing cutoff as 3
  int num_hidden_layers = 22;  // L (for the "out" σ)
  int64_t hidden_size = 768;   // C (for the classifier's hidden^-0.5)
  HeadDenseInit head_dense = HeadDenseInit::kHf;
  uint64_t seed = 0;
};

struct InitRule {
  enum class Kind { kTruncNormal, kOnes, kZeros } kind = Kind::kZeros;
  double std = 0.0;  // σ for kTruncNormal
};

// The rule for one HF-named parameter; an unknown name is an error naming it.
Result<InitRule> InitRuleFor(const std::string& name, const InitOptions& opts);

// Fills `t` with N(0, std²) truncated to [−cutoff·std, cutoff·std] (rejection sampling).
void FillTruncatedNormal(Tensor* t, double std, double cutoff, uint64_t seed,
                         const std::string& stream);

// Initialises every tensor of `params` (already shaped) by its rule.
Status MegatronInit(const InitOptions& opts, TensorTable* params);
// The same with σ, cutoff, L and C from a model config (HF head.dense convention).
Status MegatronInit(const ModelConfig& config, uint64_t seed, TensorTable* params);

// New layer i -> old layer round_half_even(i · old / new), for i in [0, new_layers).
std::vector<int> TileLayerMap(int old_layers, int new_layers);

// Centre tiling with wraparound of a 1-D or 2-D tensor into `dst` (its shape is the target).
void TileCentre(const Tensor& src, Tensor* dst);
// The same per part for a tensor whose dim 0 is `parts` stacked blocks (Wqkv 3, Wi 2).
void TileCentreFused(const Tensor& src, Tensor* dst, int parts);

// Fills every tensor of `dst` (shaped for the larger model, e.g. freshly initialised) from `src`
// (the smaller model's table). Returns the names left untouched because they have no source.
Result<std::vector<std::string>> TileFromSmaller(const TensorTable& src, int src_layers,
                                                 TensorTable* dst, int dst_layers);

}  // namespace mbert
