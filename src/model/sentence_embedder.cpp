#include "model/sentence_embedder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/file_io.h"
#include "core/json_fields.h"
#include "core/safetensors.h"
#include "model/heads.h"

namespace mbert {

namespace fs = std::filesystem;

Result<EmbedPooling> ParseEmbedPooling(const std::string& s) {
  if (s == "cls") return EmbedPooling::kCls;
  if (s == "mean") return EmbedPooling::kMean;
  if (s == "max") return EmbedPooling::kMax;
  if (s == "lasttoken" || s == "last") return EmbedPooling::kLastToken;
  return Status::Error("pooling '" + s + "' is not supported; use cls, mean, max or lasttoken");
}

const char* EmbedPoolingName(EmbedPooling p) {
  switch (p) {
    case EmbedPooling::kCls:
      return "cls";
    case EmbedPooling::kMean:
      return "mean";
    case EmbedPooling::kMax:
      return "max";
    case EmbedPooling::kLastToken:
      return "lasttoken";
  }
  return "mean";
}

namespace {

Result<EmbedPooling> ReadPoolingConfig(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(path));
  if (!j.is_object()) return Status::Error(path + ": must be a JSON object");
  // sentence-transformers 6.x writes one "pooling_mode" string; earlier versions one flag per mode.
  if (auto pm = j.find("pooling_mode"); pm != j.end() && pm->is_string()) {
    const std::string mode = pm->get<std::string>();
    if (mode == "cls") return EmbedPooling::kCls;
    if (mode == "mean") return EmbedPooling::kMean;
    if (mode == "max") return EmbedPooling::kMax;
    if (mode == "lasttoken") return EmbedPooling::kLastToken;
    return Status::Error(path + ": pooling_mode '" + mode +
                         "' is not supported (cls, mean, max, "
                         "lasttoken)");
  }
  auto on = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
  };
  if (on("pooling_mode_weightedmean_tokens") || on("pooling_mode_mean_sqrt_len_tokens"))
    return Status::Error(path + ": weighted-mean and mean-sqrt-len pooling are not supported");
  int modes = on("pooling_mode_cls_token") + on("pooling_mode_mean_tokens") +
              on("pooling_mode_max_tokens") + on("pooling_mode_lasttoken");
  if (modes != 1)
    return Status::Error(path +
                         ": exactly one pooling_mode_* must be true (concatenated pooling "
                         "modes are not supported)");
  if (on("pooling_mode_cls_token")) return EmbedPooling::kCls;
  if (on("pooling_mode_mean_tokens")) return EmbedPooling::kMean;
  if (on("pooling_mode_max_tokens")) return EmbedPooling::kMax;
  return EmbedPooling::kLastToken;
}

}  // namespace

Result<DenseModule> ReadDenseModule(const std::string& dir) {
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  MBERT_ASSIGN_OR_RETURN(nlohmann::json cfg, ReadJsonFile(cfg_path));
  DenseModule d;
  MBERT_ASSIGN_OR_RETURN(const JsonFields fields, JsonFields::Of(cfg, cfg_path));
  std::string act = "torch.nn.modules.activation.Tanh";
  MBERT_RETURN_IF_ERROR(fields.String("activation_function", &act));
  if (act == "torch.nn.modules.activation.Tanh")
    d.tanh = true;
  else if (act != "torch.nn.modules.linear.Identity")
    return Status::Error(cfg_path + ": activation_function '" + act +
                         "' is not supported (Identity or Tanh)");
  // Bounded like hidden_size in config.json, before the weight tensor is allocated.
  constexpr int64_t kMaxFeatures = int64_t{1} << 16;
  int64_t in = 0, out = 0;
  MBERT_RETURN_IF_ERROR(fields.Int("in_features", &in, 1, kMaxFeatures));
  MBERT_RETURN_IF_ERROR(fields.Int("out_features", &out, 1, kMaxFeatures));
  if (in <= 0 || out <= 0)
    return Status::Error(cfg_path + ": in_features and out_features must be positive");
  bool bias = true;
  MBERT_RETURN_IF_ERROR(fields.Bool("bias", &bias));
  const std::string wpath = (fs::path(dir) / "model.safetensors").string();
  MBERT_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Open(wpath));
  const TensorView* w = f.Find("linear.weight");
  if (w == nullptr) return Status::Error(wpath + ": missing tensor 'linear.weight'");
  if (w->shape != std::vector<int64_t>{out, in})
    return Status::Error(wpath + ": 'linear.weight' has shape " + ShapeString(w->shape) +
                         ", expected " + ShapeString({out, in}));
  d.weight = Tensor({out, in});
  MBERT_RETURN_IF_ERROR(ConvertToFloat(*w, d.weight.data(), wpath));
  if (bias) {
    const TensorView* b = f.Find("linear.bias");
    if (b == nullptr || b->shape != std::vector<int64_t>{out})
      return Status::Error(wpath + ": missing or mis-shaped 'linear.bias' (expected [" +
                           std::to_string(out) + "])");
    d.bias = Tensor({out});
    MBERT_RETURN_IF_ERROR(ConvertToFloat(*b, d.bias.data(), wpath));
  }
  return d;
}

Result<SentenceEmbedder> SentenceEmbedder::Load(const std::string& dir, const ModelConfig& c) {
  SentenceEmbedder e;
  const std::string modules = (fs::path(dir) / "modules.json").string();
  if (!FileExists(modules)) return e;  // plain HF model: mean pooling, no normalisation
  e.from_sentence_transformers = true;
  MBERT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(modules));
  if (!j.is_array()) return Status::Error(modules + ": expected a JSON list of modules");
  int64_t width = c.hidden_size;
  for (size_t i = 0; i < j.size(); ++i) {
    // Built in steps: GCC 12's -Wrestrict misfires on "[" + std::to_string(i) (PR 105329).
    std::string prefix = std::to_string(i);
    prefix.insert(0, 1, '[');
    prefix += "].";
    MBERT_ASSIGN_OR_RETURN(const JsonFields m, JsonFields::Of(j[i], modules, prefix));
    std::string type, path;
    MBERT_RETURN_IF_ERROR(m.String("type", &type));
    MBERT_RETURN_IF_ERROR(m.String("path", &path));
    if (type.empty()) return m.Error("type", "is required (a sentence_transformers module class)");
    // A module lives in a subfolder of the model: an absolute path or one with '..' would read
    // files elsewhere on the machine.
    const fs::path rel(path);
    if (rel.is_absolute() || std::find(rel.begin(), rel.end(), "..") != rel.end())
      return m.Error("path", "must be a folder inside the model directory, got '" + path + "'");
    const std::string sub = (fs::path(dir) / path).string();
    if (type.ends_with(".Transformer")) {
      if (!path.empty())
        return Status::Error(modules +
                             ": the Transformer module must live in the model "
                             "directory itself (path \"\")");
    } else if (type.ends_with(".Pooling")) {
      MBERT_ASSIGN_OR_RETURN(e.pooling,
                             ReadPoolingConfig((fs::path(sub) / "config.json").string()));
    } else if (type.ends_with(".Dense")) {
      MBERT_ASSIGN_OR_RETURN(DenseModule d, ReadDenseModule(sub));
      if (d.weight.dim(1) != width)
        return Status::Error(sub + ": Dense in_features " + std::to_string(d.weight.dim(1)) +
                             " does not match the previous width " + std::to_string(width));
      width = d.weight.dim(0);
      e.dense.push_back(std::move(d));
    } else if (type.ends_with(".Normalize")) {
      e.normalize = true;
    } else {
      return Status::Error(modules + ": module type '" + type + "' is not supported");
    }
  }
  return e;
}

int64_t SentenceEmbedder::output_dim(int64_t hidden_size) const {
  return dense.empty() ? hidden_size : dense.back().weight.dim(0);
}

Status SentenceEmbedder::Embed(const float* hidden, int64_t C,
                               const std::vector<int32_t>& cu_seqlens, int dims,
                               std::vector<float>* out, int64_t* out_dim) const {
  return Embed(hidden, C, cu_seqlens, dims, pooling, normalize, out, out_dim);
}

Status SentenceEmbedder::Embed(const float* hidden, int64_t C,
                               const std::vector<int32_t>& cu_seqlens, int dims,
                               EmbedPooling pooling, bool normalize, std::vector<float>* out,
                               int64_t* out_dim) const {
  const int64_t B = static_cast<int64_t>(cu_seqlens.size()) - 1;
  std::vector<float> cur;
  if (pooling == EmbedPooling::kCls || pooling == EmbedPooling::kMean) {
    PoolSequences(hidden, C, cu_seqlens,
                  pooling == EmbedPooling::kCls ? Pooling::kCls : Pooling::kMean, &cur);
  } else {
    cur.assign(static_cast<size_t>(B * C), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      float* o = cur.data() + b * C;
      const int64_t begin = cu_seqlens[b], end = cu_seqlens[b + 1];
      if (pooling == EmbedPooling::kLastToken) {
        std::copy_n(hidden + (end - 1) * C, C, o);
        continue;
      }
      std::copy_n(hidden + begin * C, C, o);
      for (int64_t t = begin + 1; t < end; ++t)
        for (int64_t k = 0; k < C; ++k) o[k] = std::max(o[k], hidden[t * C + k]);
    }
  }
  int64_t width = C;
  for (const DenseModule& d : dense) {
    const int64_t O = d.weight.dim(0);
    std::vector<float> next(static_cast<size_t>(B * O));
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t o = 0; o < O; ++o) {
        double acc = d.bias.empty() ? 0.0 : d.bias.data()[o];
        const float* w = d.weight.data() + o * width;
        const float* x = cur.data() + b * width;
        for (int64_t k = 0; k < width; ++k) acc += static_cast<double>(w[k]) * x[k];
        next[static_cast<size_t>(b * O + o)] =
            d.tanh ? std::tanh(static_cast<float>(acc)) : static_cast<float>(acc);
      }
    }
    cur.swap(next);
    width = O;
  }
  if (dims < 0 || dims > width)
    return Status::Error("--dims " + std::to_string(dims) +
                         " must be between 1 and the "
                         "embedding width " +
                         std::to_string(width));
  const int64_t E = dims > 0 ? dims : width;
  out->resize(static_cast<size_t>(B * E));
  for (int64_t b = 0; b < B; ++b) {
    float* o = out->data() + b * E;
    std::copy_n(cur.data() + b * width, E, o);
    if (normalize) {
      double ss = 0.0;
      for (int64_t k = 0; k < E; ++k) ss += static_cast<double>(o[k]) * o[k];
      // torch.nn.functional.normalize: x / max(||x||, 1e-12)
      const double inv = 1.0 / std::max(std::sqrt(ss), 1e-12);
      for (int64_t k = 0; k < E; ++k) o[k] = static_cast<float>(o[k] * inv);
    }
  }
  *out_dim = E;
  return Status::Ok();
}

}  // namespace mbert
