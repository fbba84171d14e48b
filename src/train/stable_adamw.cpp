#include "train/stable_adamw.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace mbert {
namespace {

// optimi utils.debias_beta: beta*(1 - beta^(t-1)) / (1 - beta^t), written as in optimi.
double DebiasBeta(double beta, int64_t step) {
  const double bt = std::pow(beta, static_cast<double>(step));
  return (bt - beta) / (bt - 1.0);
}

}  // namespace

bool StableAdamWDecays(const std::string& name, const Tensor& param) {
  const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
  return param.ndim() > 1 && !is_bias;
}

Result<StableAdamW> StableAdamW::Create(const StableAdamWConfig& c) {
  if (!(c.beta1 >= 0.0 && c.beta1 < 1.0) || !(c.beta2 >= 0.0 && c.beta2 < 1.0))
    return Status::Error("StableAdamW: betas must be in [0, 1) (the recipe uses 0.9, 0.98)");
  if (!(c.eps >= 0.0)) return Status::Error("StableAdamW: eps must be >= 0 (the recipe uses 1e-6)");
  if (!(c.weight_decay >= 0.0)) return Status::Error("StableAdamW: weight_decay must be >= 0");
  if (c.decouple_lr && c.weight_decay != 0.0 && !(c.max_lr > 0.0))
    return Status::Error(
        "StableAdamW: decouple_lr needs max_lr > 0 (set it to the schedule's peak learning rate)");
  return StableAdamW(c);
}

void StableAdamW::Step(TensorTable& params, const TensorTable& grads, double lr) {
  state_.step += 1;
  const double beta1_hat = DebiasBeta(config_.beta1, state_.step);
  const double beta2_hat = DebiasBeta(config_.beta2, state_.step);
  // torch casts Python scalars to the tensor dtype inside the fp32 kernels.
  const float beta1_comp = static_cast<float>(1.0 - beta1_hat);
  const float beta2_hat_f = static_cast<float>(beta2_hat);
  const float beta2_comp = static_cast<float>(1.0 - beta2_hat);
  const float eps_sq = static_cast<float>(config_.eps * config_.eps);  // optimi's fp32 eps² tensor
  const float eps = static_cast<float>(config_.eps);
  last_rms_.clear();

  for (const auto& [name, g_tensor] : grads) {
    auto it = params.find(name);
    MBERT_CHECK(it != params.end(), "gradient for unknown parameter ", name);
    Tensor& p_tensor = it->second;
    MBERT_CHECK(p_tensor.shape() == g_tensor.shape(), "gradient of ", name, " has shape ",
                ShapeString(g_tensor.shape()), ", parameter ", ShapeString(p_tensor.shape()));
    Tensor& m_tensor = state_.exp_avg[name];
    Tensor& v_tensor = state_.exp_avg_sq[name];
    if (m_tensor.empty() || m_tensor.shape() != p_tensor.shape()) {
      m_tensor = Tensor(p_tensor.shape());
      v_tensor = Tensor(p_tensor.shape());
    }
    const int64_t n = p_tensor.numel();
    const bool parallel = n >= config_.parallel_min_elements;
    float* __restrict p = p_tensor.data();
    float* __restrict m = m_tensor.data();
    float* __restrict v = v_tensor.data();
    const float* __restrict g = g_tensor.data();

    // Moments, then the per-tensor mean of g²/max(v, ε²) (accumulated in double; torch sums in
    // fp32 with its own blocking, so the last bits of rms may differ).
    double sum = 0.0;
#pragma omp parallel for simd reduction(+ : sum) schedule(static) if (parallel)
    for (int64_t i = 0; i < n; ++i) {
      const float gi = g[i];
      // torch's vectorised lerp: fma(w, b − a, a) if w < 0.5 else fma(w − 1, b − a, b).
      const float diff = gi - m[i];
      m[i] = beta1_comp < 0.5f ? std::fma(beta1_comp, diff, m[i])
                               : std::fma(beta1_comp - 1.0f, diff, gi);
      // mul_(β̂2), then addcmul_(g, g, value = 1 − β̂2) = fma(value·g, g, v·β̂2) in torch.
      const float vi = std::fma(beta2_comp * gi, gi, v[i] * beta2_hat_f);
      v[i] = vi;
      const float r = (gi * gi) / (vi > eps_sq ? vi : eps_sq);
      sum += static_cast<double>(r);
    }
    // torch: mean in fp32, sqrt in fp32, then .item() to Python float.
    const float mean = static_cast<float>(sum / static_cast<double>(n > 0 ? n : 1));
    const double rms = static_cast<double>(std::sqrt(mean));
    last_rms_[name] = rms;
    const double eta = lr / std::max(1.0, rms);

    const bool decay = config_.weight_decay != 0.0 && StableAdamWDecays(name, p_tensor);
    const double wd_factor =
        decay ? (config_.decouple_lr ? 1.0 - (eta / config_.max_lr) * config_.weight_decay
                                     : 1.0 - eta * config_.weight_decay)
              : 1.0;
    const float wd_f = static_cast<float>(wd_factor);
    const float neg_eta = static_cast<float>(-eta);
#pragma omp parallel for simd schedule(static) if (parallel)
    for (int64_t i = 0; i < n; ++i) {
      float pi = p[i];
      if (decay) pi = pi * wd_f;
      // addcdiv_(m, sqrt(v) + ε, value = −η): p + (value·m)/denom.
      const float denom = std::sqrt(v[i]) + eps;
      p[i] = pi + neg_eta * m[i] / denom;
    }
  }
}

Status StableAdamW::LoadState(StableAdamWState state, const TensorTable& params) {
  if (state.step < 0) return Status::Error("optimizer state: negative step count");
  for (const TensorTable* t : {&state.exp_avg, &state.exp_avg_sq}) {
    for (const auto& [name, tensor] : *t) {
      auto it = params.find(name);
      if (it == params.end())
        return Status::Error("optimizer state has a moment for '" + name +
                             "', which is not a parameter of this model (wrong checkpoint?)");
      if (it->second.shape() != tensor.shape())
        return Status::Error("optimizer state for '" + name + "' has shape " +
                             ShapeString(tensor.shape()) + " but the parameter has " +
                             ShapeString(it->second.shape()));
    }
  }
  if (state.exp_avg.size() != state.exp_avg_sq.size())
    return Status::Error("optimizer state: exp_avg and exp_avg_sq name different parameters");
  for (const auto& [name, tensor] : state.exp_avg)
    if (!state.exp_avg_sq.count(name))
      return Status::Error("optimizer state: exp_avg_sq is missing '" + name + "'");
  state_ = std::move(state);
  return Status::Ok();
}

}  // namespace mbert
