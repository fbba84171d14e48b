// StableAdamW (Wortsman et al. 2023) with exactly torch-optimi 0.3.3's semantics in fp32, as the
// ModernBERT recipe uses it (reference §5.2: `decoupled_stableadamw`, betas (0.9, 0.98),
// eps 1e-6, fully decoupled weight decay, no decay on 1-D parameters and biases).
//
// Per step t (one counter for all parameters), for each parameter θ with gradient g:
//   β̂ = (β^t − β)/(β^t − 1)                    debiased betas: m, v are already bias-corrected
//   m ← lerp(m, g, 1 − β̂1)                     (m = g at t = 1)
//   v ← β̂2·v + (1 − β̂2)·g²
//   rms = sqrt(mean(g² / max(v, ε²)))          per tensor, with the UPDATED v
//   η = lr / max(1, rms)                        update clipping as a per-tensor learning rate
//   θ ← θ·(1 − (η/lr_max)·wd)  (decouple_lr)   or  θ·(1 − η·wd)  (PyTorch-style decoupled)
//   θ ← θ − η·m / (sqrt(v) + ε)
// Scalars are computed in double like Python; element math is fp32 in torch's CPU operation order
// with its fused multiply-adds (lerp and addcmul use fma, addcdiv does not), so most elements
// match torch-optimi bit for bit. Remaining differences: torch's vectorised sqrt (Sleef, AVX2
// build) is sometimes 1 ulp off the correctly rounded sqrt used here, and torch sums the rms mean
// in fp32 blocks where this sums in double.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/tensor.h"
#include "mbert/status.h"

namespace mbert {

struct StableAdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-6;
  double weight_decay = 1e-5;
  // Fully decoupled weight decay (optimi decouple_lr=True): the decay is scaled by η/lr_max and
  // so does not change with the peak LR. The ModernBERT recipe uses it.
  bool decouple_lr = true;
  // The peak (maximum scheduled) LR for decouple_lr; optimi defaults it to the LR given at
  // construction, which the recipe sets to the peak LR.
  double max_lr = 8e-4;
  // Tensors with at least this many elements are updated with OpenMP threads (smaller ones on
  // one thread, where starting threads costs more than it saves). Results do not depend on it
  // beyond the rms sum's rounding.
  int64_t parallel_min_elements = int64_t{1} << 15;
};

// ModernBERT's parameter groups (main.py param_groups_weight_decay): no weight decay for a
// parameter with ndim <= 1 or a name ending in ".bias"; decay for every other (2-D) parameter,
// including the token embedding / tied decoder weight.
bool StableAdamWDecays(const std::string& name, const Tensor& param);

// Optimizer state: the step counter and the two moments per parameter, keyed like the params.
struct StableAdamWState {
  int64_t step = 0;
  TensorTable exp_avg;     // m, same shapes as the params
  TensorTable exp_avg_sq;  // v
};

class StableAdamW {
 public:
  static Result<StableAdamW> Create(const StableAdamWConfig& config);

  // One optimizer step at learning rate `lr`. Parameters without a gradient in `grads` are
  // skipped (like torch's p.grad is None); every gradient must name a parameter of equal shape.
  // Moments are created (zero) on a parameter's first step.
  void Step(TensorTable& params, const TensorTable& grads, double lr);

  const StableAdamWState& state() const { return state_; }
  // Restores a saved state (resume). Every moment must match a parameter's shape in `params`.
  Status LoadState(StableAdamWState state, const TensorTable& params);
  const StableAdamWConfig& config() const { return config_; }

  // The per-tensor rms of the last step (for logging how often update clipping engages).
  const std::map<std::string, double>& last_rms() const { return last_rms_; }

 private:
  explicit StableAdamW(const StableAdamWConfig& c) : config_(c) {}
  StableAdamWConfig config_;
  StableAdamWState state_;
  std::map<std::string, double> last_rms_;
};

}  // namespace mbert
