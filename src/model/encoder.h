// Encoder: a loaded ModernBERT (config, layer plan, HF-named weights, their GEMMs, RoPE tables)
// and its packed-batch forward. One forward serves inference and training (training asks it to
// keep activations). Immutable once built: Forward is const and keeps all per-call state in the
// caller's ForwardContext, so threads may share one Encoder, each with its own context. Only
// training mutates it (mutable_params + RefreshWeights), with no forward running.
//
// Weights are held once: the GEMMs borrow the Encoder's own (out, in) tensors wherever oneDNN's
// matmul wants a plain weight layout (its jit GEMM, on AVX2 CPUs), and copy them only into the
// blocked layouts it prefers elsewhere (brgemm, on AVX-512 CPUs). Loaded with WeightDtype::kBF16
// (inference only), every GEMM weight and the token embedding table are kept in bf16 instead (half
// the bytes) and expanded to fp32 block by block as they are used; compute stays fp32.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "batch/packed_batch.h"
#include "core/tensor.h"
#include "mbert/status.h"
#include "mbert/types.h"
#include "model/config.h"
#include "model/forward_context.h"
#include "model/plan.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/rope.h"

namespace mbert {

// Per-layer activations kept by a training forward (all (N, ·) row-major).
struct LayerActivations {
  std::vector<float> x_in;                  // (N, C) residual stream entering the layer
  std::vector<float> h_attn;                // (N, C) attn_norm output (layer 0: copy of x_in)
  std::vector<float> mean_attn, rstd_attn;  // (N)
  std::vector<float> qkv;                   // (N, 3C) after RoPE
  std::vector<float> attn;                  // (N, C) attention output before Wo
  std::vector<float> lse;                   // (N, H)
  std::vector<float> x_mid;                 // (N, C) residual after the attention block
  std::vector<float> h_mlp;                 // (N, C) mlp_norm output
  std::vector<float> mean_mlp, rstd_mlp;    // (N)
  std::vector<float> u;                     // (N, 2I) Wi output
  std::vector<float> g;                     // (N, I) GeGLU output
};

struct ForwardActivations {
  std::vector<float> emb;  // (N, C) embedding lookup before its norm
  std::vector<float> mean_emb, rstd_emb;
  std::vector<LayerActivations> layers;
  std::vector<float> x_final;  // (N, C) residual stream before final_norm
  std::vector<float> mean_final, rstd_final;
};

class Encoder {
 public:
  // Reads DIR/config.json and the safetensors weights (see weights.h). In bf16 the 2-D
  // parameters go from the checkpoint straight to bf16, never through an fp32 table.
  static Result<Encoder> Load(const std::string& dir, const LoadOptions& opts = {});
  // A model from a config and an existing fp32 table (e.g. freshly initialised for training). In
  // bf16 the 2-D parameters are converted and dropped from the table.
  static Result<Encoder> FromParams(ModelConfig config, TensorTable params,
                                    const LoadOptions& opts = {});

  const ModelConfig& config() const { return config_; }
  const std::vector<LayerSpec>& plan() const { return plan_; }
  WeightDtype weight_dtype() const { return dtype_; }
  // The fp32 parameters: all of them for an fp32 model; for a bf16 model only those kept in fp32
  // (norms and biases), the rest being in bf16_params(). The GEMMs of an fp32 model may read these
  // tensors in place: change values in place (then call RefreshWeights), never the map's tensors.
  const TensorTable& params() const { return params_; }
  TensorTable& mutable_params() { return params_; }
  const Tensor& param(const std::string& name) const;
  // The parameters kept in bf16 (empty for an fp32 model).
  const Bf16Table& bf16_params() const { return bf16_params_; }
  // Every parameter, whatever its storage.
  int64_t num_parameters() const;
  // Bytes of weights the model holds: its fp32 and bf16 tensors plus any copies its GEMMs own
  // (none on AVX2 CPUs). About 4 * num_parameters() in fp32, 2 * num_parameters() in bf16.
  int64_t weight_bytes() const;

  // Checks ids in range and cu_seqlens/positions consistency; returns a clear error otherwise.
  Status Validate(const PackedBatch& batch) const;

  // Final hidden states (N, C) after final_norm into `hidden` (resized). `ctx` holds the scratch,
  // and its hook and profile see every stage (forward_context.h). `acts` non-null keeps what
  // backward needs (an error for a bf16 model).
  Status Forward(const PackedBatch& batch, ForwardContext& ctx, std::vector<float>* hidden,
                 ForwardActivations* acts = nullptr) const;

  // Re-packs the GEMM weights after params() changed (e.g. an optimizer step). Not for a bf16
  // model (a checked error: bf16 models are inference-only).
  void RefreshWeights();

  const ops::Linear& linear(const std::string& weight_name) const;
  const ops::RopeTable& rope(bool global) const { return global ? *rope_global_ : *rope_local_; }

 private:
  Encoder() = default;
  void BuildKernels();
  bool TiedDecoder() const;
  // The tensor a GEMM multiplies by: its own weight, or the token embedding for a tied decoder.
  std::string GemmWeightName(const std::string& gemm) const;
  // A Linear for the GEMM named `gemm`, borrowing its weight (fp32 or bf16) and fp32 bias.
  void AddLinear(const std::string& gemm);

  static Result<Encoder> FromTables(ModelConfig config, TensorTable params, Bf16Table bf16,
                                    WeightDtype dtype);

  ModelConfig config_;
  std::vector<LayerSpec> plan_;
  WeightDtype dtype_ = WeightDtype::kF32;
  TensorTable params_;
  Bf16Table bf16_params_;
  std::map<std::string, std::unique_ptr<ops::Linear>> linears_;
  std::unique_ptr<ops::RopeTable> rope_global_, rope_local_;
  // Per-layer kernel and weight pointers resolved once, so the forward does no name lookups.
  struct LayerKernels {
    const ops::Linear *wqkv, *wo, *wi, *mlp_wo;
    const float *attn_norm, *mlp_norm;  // attn_norm null for layer 0
  };
  std::vector<LayerKernels> layer_kernels_;
};

}  // namespace mbert
