// AdamW as transformers' Trainer runs it by default: torch.optim.AdamW (optim "adamw_torch_fused"
// since torch 2.8; the fused CPU kernel and the single-tensor path compute the same formula),
// betas (0.9, 0.999), eps 1e-8, decoupled weight decay, no decay where the Trainer's
// get_decay_parameter_names says so (TrainerDecays below).
//
// Per parameter θ with gradient g, its own step counter t (torch keeps state["step"] per
// parameter), learning rate lr:
//   θ ← θ·(1 − lr·wd)                          (decoupled decay, before the moments)
//   m ← lerp(m, g, 1 − β1)
//   v ← β2·v + (1 − β2)·g²
//   θ ← θ − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
// Scalars in double (Python floats), rounded once to fp32 as torch's kernel does; element math
// in fp32.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "mbert/status.h"
#include "train/optimizer.h"

namespace mbert {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Trainer's default; the paper's GLUE grid uses 1e-6..1e-5·lr-scale
};

// transformers Trainer.get_decay_parameter_names (5.23): a parameter decays unless it belongs to
// an nn.LayerNorm or its lower-cased name matches "bias", "layernorm", "rmsnorm",
// "(^|.)norm($|.)" or "_norm($|.)". Every ModernBERT LayerNorm is named *norm, so the name rules
// decide alone: biases and all norm weights are not decayed; the token embedding, every GEMM
// weight and the classifier weight are.
bool TrainerDecays(const std::string& name);

class AdamW : public Optimizer {
 public:
  static Result<AdamW> Create(const AdamWConfig& config);

  void Step(const std::vector<ParamGroup>& groups, double lr) override;
  // One table (convenience).
  void Step(TensorTable& params, TensorTable& grads, double lr) { Step({{&params, &grads}}, lr); }

  const AdamWConfig& config() const { return config_; }
  // Moments and per-parameter step counts, keyed by parameter name.
  const TensorTable& exp_avg() const { return exp_avg_; }
  const TensorTable& exp_avg_sq() const { return exp_avg_sq_; }
  const std::map<std::string, int64_t>& steps() const { return steps_; }

  // Writes the moments and step counts to `path` (safetensors, atomic): tensors
  // "exp_avg.<name>" / "exp_avg_sq.<name>", metadata "steps" = {"<name>": t, ...}, so that
  // LoadState continues bit-identically (resume of `mbert finetune`).
  Status SaveState(const std::string& path) const;
  // Replaces the state with the one SaveState wrote. Errors name the file and the entry: a
  // parameter with a moment but no step count (or the reverse), a shape that differs between
  // exp_avg and exp_avg_sq, a step count below 1.
  Status LoadState(const std::string& path);

 private:
  explicit AdamW(const AdamWConfig& c) : config_(c) {}
  AdamWConfig config_;
  TensorTable exp_avg_, exp_avg_sq_;
  std::map<std::string, int64_t> steps_;
};

}  // namespace mbert
