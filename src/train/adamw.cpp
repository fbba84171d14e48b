#include "train/adamw.h"

#include <cctype>
#include <cmath>

namespace mbert {

namespace {

bool Contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// "(?:^|\.)norm(?:$|\.)": a dotted component that is exactly "norm".
bool HasNormComponent(const std::string& s) {
  for (size_t pos = s.find("norm"); pos != std::string::npos; pos = s.find("norm", pos + 1)) {
    const bool start = pos == 0 || s[pos - 1] == '.';
    const bool end = pos + 4 == s.size() || s[pos + 4] == '.';
    if (start && end) return true;
  }
  return false;
}

// "_norm(?:$|\.)".
bool HasUnderscoreNorm(const std::string& s) {
  for (size_t pos = s.find("_norm"); pos != std::string::npos; pos = s.find("_norm", pos + 1)) {
    if (pos + 5 == s.size() || s[pos + 5] == '.') return true;
  }
  return false;
}

}  // namespace

bool TrainerDecays(const std::string& name) {
  std::string s = name;
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return !(Contains(s, "bias") || Contains(s, "layernorm") || Contains(s, "rmsnorm") ||
           HasNormComponent(s) || HasUnderscoreNorm(s));
}

Result<AdamW> AdamW::Create(const AdamWConfig& c) {
  if (!(c.beta1 >= 0.0 && c.beta1 < 1.0) || !(c.beta2 >= 0.0 && c.beta2 < 1.0))
    return Status::Error("AdamW betas must lie in [0, 1)");
  if (!(c.eps > 0.0)) return Status::Error("AdamW eps must be positive");
  if (!(c.weight_decay >= 0.0)) return Status::Error("AdamW weight_decay must be >= 0");
  return AdamW(c);
}

void AdamW::Step(const std::vector<ParamGroup>& groups, double lr) {
  const AdamWConfig& c = config_;
  for (const ParamGroup& group : groups) {
    for (auto& [name, p] : *group.params) {
      auto git = group.grads->find(name);
      if (git == group.grads->end()) continue;
      const Tensor& g = git->second;
      MBERT_CHECK(g.shape() == p.shape(), "gradient of ", name, " has the wrong shape");
      auto [mit, fresh] = exp_avg_.try_emplace(name, p.shape());
      auto vit = exp_avg_sq_.try_emplace(name, p.shape()).first;
      const int64_t t = ++steps_[name];
      (void)fresh;
      const double wd = TrainerDecays(name) ? c.weight_decay : 0.0;
      const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(t));
      const double bc2 = 1.0 - std::pow(c.beta2, static_cast<double>(t));
      const float decay = static_cast<float>(1.0 - lr * wd);
      const float w1 = static_cast<float>(1.0 - c.beta1);
      const float b2 = static_cast<float>(c.beta2), w2 = static_cast<float>(1.0 - c.beta2);
      const float step_size = static_cast<float>(lr / bc1);
      const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
      const float eps = static_cast<float>(c.eps);
      float* th = p.data();
      float* m = mit->second.data();
      float* v = vit->second.data();
      const float* gd = g.data();
      const int64_t n = p.numel();
#pragma omp parallel for simd schedule(static) if (n >= (1 << 15))
      for (int64_t i = 0; i < n; ++i) {
        if (wd != 0.0) th[i] *= decay;
        m[i] += w1 * (gd[i] - m[i]);
        v[i] = b2 * v[i] + w2 * gd[i] * gd[i];
        const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
        th[i] -= step_size * m[i] / denom;
      }
    }
  }
}

}  // namespace mbert
