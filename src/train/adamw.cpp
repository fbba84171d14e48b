#include "train/adamw.h"

#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"

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

Status AdamW::SaveState(const std::string& path) const {
  std::vector<TensorToWrite> tensors;
  for (const auto& [n, m] : exp_avg_) tensors.push_back({"exp_avg." + n, &m, DType::kF32});
  for (const auto& [n, v] : exp_avg_sq_) tensors.push_back({"exp_avg_sq." + n, &v, DType::kF32});
  nlohmann::json steps = nlohmann::json::object();
  for (const auto& [n, t] : steps_) steps[n] = t;
  return WriteSafetensors(path, tensors, {{"steps", steps.dump()}});
}

Status AdamW::LoadState(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Open(path));
  auto meta = f.metadata().find("steps");
  if (meta == f.metadata().end())
    return Status::Error(path + ": no \"steps\" metadata (not an AdamW state written by mbert)");
  const nlohmann::json steps = nlohmann::json::parse(meta->second, nullptr, false);
  if (!steps.is_object()) return Status::Error(path + ": metadata \"steps\" is not a JSON object");
  TensorTable m, v;
  std::map<std::string, int64_t> t;
  for (const TensorView& view : f.tensors()) {
    const bool first = view.name.rfind("exp_avg.", 0) == 0;
    const bool second = view.name.rfind("exp_avg_sq.", 0) == 0;
    if (!first && !second)
      return Status::Error(path + ": unexpected tensor '" + view.name +
                           "' (expected exp_avg.<param> or exp_avg_sq.<param>)");
    const std::string name = view.name.substr(first ? 8 : 11);
    Tensor x(view.shape);
    MBERT_RETURN_IF_ERROR(ConvertToFloat(view, x.data(), path + ": " + view.name));
    (first ? m : v).emplace(name, std::move(x));
  }
  for (const auto& [name, x] : m) {
    auto it = v.find(name);
    if (it == v.end() || it->second.shape() != x.shape())
      return Status::Error(path + ": exp_avg_sq." + name +
                           " is missing or its shape differs from exp_avg." + name);
    auto s = steps.find(name);
    if (s == steps.end() || !s->is_number_integer() || s->get<int64_t>() < 1)
      return Status::Error(path + ": metadata \"steps\" has no step count >= 1 for '" + name + "'");
    t[name] = s->get<int64_t>();
  }
  if (v.size() != m.size() || steps.size() != m.size())
    return Status::Error(path + ": exp_avg, exp_avg_sq and \"steps\" list different parameters");
  exp_avg_ = std::move(m);
  exp_avg_sq_ = std::move(v);
  steps_ = std::move(t);
  return Status::Ok();
}

}  // namespace mbert
