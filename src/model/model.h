// Model: a loaded ModernBERT (config, layer plan, HF-named weights, pre-packed GEMMs) and its
// packed-batch forward. One forward serves inference and training (training asks it to keep
// activations). Not thread-safe: one Model (or one Workspace) per concurrent caller.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "batch/packed_batch.h"
#include "core/tensor.h"
#include "model/config.h"
#include "model/plan.h"
#include "mbert/status.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/rope.h"

namespace mbert {

// Named taps: the forward reports intermediates by (layer, stage) so a parity run can name the
// first place it diverges. Stages: "embeddings" (layer -1), "attn_out" and "mlp_out" (the
// sublayer outputs before their residual add), "hidden" (the residual stream after layer i),
// "final_norm" (layer L). data is (N, C) row-major.
using TapFn = std::function<void(int layer, const char* stage, const float* data)>;

// Per-layer activations kept by a training forward (all (N, ·) row-major).
struct LayerActivations {
  std::vector<float> x_in;      // (N, C) residual stream entering the layer
  std::vector<float> h_attn;    // (N, C) attn_norm output (layer 0: copy of x_in)
  std::vector<float> mean_attn, rstd_attn;  // (N)
  std::vector<float> qkv;       // (N, 3C) after RoPE
  std::vector<float> attn;      // (N, C) attention output before Wo
  std::vector<float> lse;       // (N, H)
  std::vector<float> x_mid;     // (N, C) residual after the attention block
  std::vector<float> h_mlp;     // (N, C) mlp_norm output
  std::vector<float> mean_mlp, rstd_mlp;  // (N)
  std::vector<float> u;         // (N, 2I) Wi output
  std::vector<float> g;         // (N, I) GeGLU output
};

struct ForwardActivations {
  std::vector<float> emb;  // (N, C) embedding lookup before its norm
  std::vector<float> mean_emb, rstd_emb;
  std::vector<LayerActivations> layers;
  std::vector<float> x_final;  // (N, C) residual stream before final_norm
  std::vector<float> mean_final, rstd_final;
};

// Wall-clock seconds per op kind, accumulated over forwards while attached (Model::set_profile).
struct OpProfile {
  std::map<std::string, double> seconds;
  int64_t tokens = 0;
};

class Model {
 public:
  // Reads DIR/config.json and the safetensors weights (see weights.h).
  static Result<Model> Load(const std::string& dir);
  // A model from a config and an existing table (e.g. freshly initialised for training).
  static Result<Model> FromParams(ModelConfig config, TensorTable params);

  const ModelConfig& config() const { return config_; }
  const std::vector<LayerSpec>& plan() const { return plan_; }
  const TensorTable& params() const { return params_; }
  TensorTable& mutable_params() { return params_; }
  const Tensor& param(const std::string& name) const;
  int64_t num_parameters() const;

  // Checks ids in range and cu_seqlens/positions consistency; returns a clear error otherwise.
  Status Validate(const PackedBatch& batch) const;

  // Final hidden states (N, C) after final_norm into `hidden` (resized). `acts` non-null keeps
  // what backward needs. `tap` may be empty.
  Status Forward(const PackedBatch& batch, std::vector<float>* hidden,
                 ForwardActivations* acts = nullptr, const TapFn& tap = nullptr);

  // Re-packs the GEMM weights after params() changed (e.g. an optimizer step).
  void RefreshWeights();

  const ops::Linear& linear(const std::string& weight_name) const;
  // Attach (or detach with nullptr) a per-op timer; off by default (no cost when detached).
  void set_profile(OpProfile* p) { profile_ = p; }
  const ops::RopeTable& rope(bool global) const { return global ? *rope_global_ : *rope_local_; }

 private:
  Model() = default;
  void BuildKernels();

  ModelConfig config_;
  std::vector<LayerSpec> plan_;
  TensorTable params_;
  std::map<std::string, std::unique_ptr<ops::Linear>> linears_;
  std::unique_ptr<ops::RopeTable> rope_global_, rope_local_;
  // Per-layer kernel and weight pointers resolved once, so the forward does no name lookups.
  struct LayerKernels {
    const ops::Linear *wqkv, *wo, *wi, *mlp_wo;
    const float *attn_norm, *mlp_norm;  // attn_norm null for layer 0
  };
  std::vector<LayerKernels> layer_kernels_;
  OpProfile* profile_ = nullptr;
  // Reused scratch so steady-state inference does not allocate.
  std::vector<float> x_, h_, qkv_, attn_, tmp_, u_, g_;
};

}  // namespace mbert
