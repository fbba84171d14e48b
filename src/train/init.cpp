#include "train/init.h"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace mbert {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Python's floor division and modulo (results take the divisor's sign).
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

// Splits "model.layers.{i}.rest" into i and rest; false for other names.
bool ParseLayerName(const std::string& name, int* layer, std::string* rest) {
  static const std::string kPrefix = "model.layers.";
  if (name.rfind(kPrefix, 0) != 0) return false;
  const size_t dot = name.find('.', kPrefix.size());
  if (dot == std::string::npos || dot == kPrefix.size()) return false;
  int v = 0;
  for (size_t i = kPrefix.size(); i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + (name[i] - '0');
  }
  *layer = v;
  *rest = name.substr(dot + 1);
  return true;
}

// Number of stacked parts of a fused tensor (Wqkv = q|k|v, Wi = input|gate), else 1.
int FusedParts(const std::string& name) {
  if (name.find(".attn.Wqkv.") != std::string::npos) return 3;
  if (name.find(".mlp.Wi.") != std::string::npos) return 2;
  return 1;
}

constexpr int64_t kChunk = int64_t{1} << 20;

}  // namespace

Result<InitRule> InitRuleFor(const std::string& name, const InitOptions& o) {
  const double in_std = o.initializer_range;
  const double out_std = o.initializer_range / std::sqrt(2.0 * o.num_hidden_layers);
  InitRule r;
  if (EndsWith(name, ".bias")) return r;  // zeros
  if (EndsWith(name, "norm.weight")) {
    r.kind = InitRule::Kind::kOnes;
    return r;
  }
  r.kind = InitRule::Kind::kTruncNormal;
  if (EndsWith(name, "tok_embeddings.weight") || EndsWith(name, ".attn.Wqkv.weight") ||
      EndsWith(name, ".mlp.Wi.weight")) {
    r.std = in_std;
  } else if (EndsWith(name, ".attn.Wo.weight") || EndsWith(name, ".mlp.Wo.weight")) {
    r.std = out_std;
  } else if (name == "head.dense.weight") {
    r.std = o.head_dense == HeadDenseInit::kHf ? out_std : in_std;
  } else if (name == "decoder.weight") {
    r.std = out_std;  // HF, when the decoder is untied
  } else if (name == "classifier.weight") {
    r.std = 1.0 / std::sqrt(static_cast<double>(o.hidden_size));
  } else {
    return Status::Error("Megatron init: no rule for parameter '" + name +
                         "' (expected ModernBERT's HF parameter names)");
  }
  return r;
}

void FillTruncatedNormal(Tensor* t, double std, double cutoff, uint64_t seed,
                         const std::string& stream) {
  const int64_t n = t->numel();
  float* d = t->data();
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(dynamic, 1) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    Rng rng = Rng::ForStream(seed, stream + "#" + std::to_string(c));
    const int64_t end = std::min(n, (c + 1) * kChunk);
    int64_t i = c * kChunk;
    while (i < end) {
      double z[2];
      rng.NormalPair(&z[0], &z[1]);
      for (double zi : z) {
        // Rejection keeps exactly the normal law restricted to [−cutoff, cutoff].
        if (std::fabs(zi) <= cutoff && i < end) d[i++] = static_cast<float>(std * zi);
      }
    }
  }
}

Status MegatronInit(const InitOptions& opts, TensorTable* params) {
  if (!(opts.initializer_range > 0.0) || !(opts.cutoff_factor > 0.0) ||
      opts.num_hidden_layers < 1 || opts.hidden_size < 1)
    return Status::Error(
        "Megatron init: initializer_range, initializer_cutoff_factor, num_hidden_layers and "
        "hidden_size must be positive");
  for (auto& [name, t] : *params) {
    MBERT_ASSIGN_OR_RETURN(const InitRule rule, InitRuleFor(name, opts));
    switch (rule.kind) {
      case InitRule::Kind::kZeros:
        t.Zero();
        break;
      case InitRule::Kind::kOnes:
        std::fill(t.data(), t.data() + t.numel(), 1.0f);
        break;
      case InitRule::Kind::kTruncNormal:
        FillTruncatedNormal(&t, rule.std, opts.cutoff_factor, opts.seed, name);
        break;
    }
  }
  return Status::Ok();
}

Status MegatronInit(const ModelConfig& c, uint64_t seed, TensorTable* params) {
  InitOptions o;
  o.initializer_range = c.initializer_range;
  o.cutoff_factor = c.initializer_cutoff_factor;
  o.num_hidden_layers = c.num_hidden_layers;
  o.hidden_size = c.hidden_size;
  o.seed = seed;
  return MegatronInit(o, params);
}

std::vector<int> TileLayerMap(int old_layers, int new_layers) {
  std::vector<int> map(static_cast<size_t>(new_layers));
  for (int i = 0; i < new_layers; ++i) {
    // round(i·old/new) with Python's round-half-even, in exact integer arithmetic.
    const int64_t q = static_cast<int64_t>(i) * old_layers;
    int64_t fl = q / new_layers;
    const int64_t twice_rem = 2 * (q % new_layers);
    if (twice_rem > new_layers || (twice_rem == new_layers && fl % 2 == 1)) ++fl;
    map[static_cast<size_t>(i)] = static_cast<int>(std::min<int64_t>(fl, old_layers - 1));
  }
  return map;
}

namespace {

// Tiles the block src[r0s : r0s+rs, :] into dst[r0d : r0d+rd, :] (2-D, cs -> cd columns) or the
// 1-D range likewise (cs = cd = 1).
void TileBlock(const float* src, int64_t rs, int64_t cs, float* dst, int64_t rd, int64_t cd) {
  const int64_t off_r = FloorDiv(rd - rs, 2), off_c = FloorDiv(cd - cs, 2);
#pragma omp parallel for schedule(static) if (rd * cd > (int64_t{1} << 16))
  for (int64_t i = 0; i < rd; ++i) {
    const float* srow = src + FloorMod(i - off_r, rs) * cs;
    float* drow = dst + i * cd;
    for (int64_t j = 0; j < cd; ++j) drow[j] = srow[FloorMod(j - off_c, cs)];
  }
}

}  // namespace

void TileCentreFused(const Tensor& src, Tensor* dst, int parts) {
  MBERT_CHECK(src.ndim() == dst->ndim() && (src.ndim() == 1 || src.ndim() == 2),
              "tiling needs two 1-D or two 2-D tensors, got ", ShapeString(src.shape()), " -> ",
              ShapeString(dst->shape()));
  MBERT_CHECK(src.dim(0) % parts == 0 && dst->dim(0) % parts == 0, "fused dim 0 not divisible by ",
              parts);
  const int64_t rs = src.dim(0) / parts, rd = dst->dim(0) / parts;
  const int64_t cs = src.ndim() == 2 ? src.dim(1) : 1, cd = dst->ndim() == 2 ? dst->dim(1) : 1;
  for (int p = 0; p < parts; ++p)
    TileBlock(src.data() + p * rs * cs, rs, cs, dst->data() + p * rd * cd, rd, cd);
}

void TileCentre(const Tensor& src, Tensor* dst) { TileCentreFused(src, dst, 1); }

Result<std::vector<std::string>> TileFromSmaller(const TensorTable& src, int src_layers,
                                                 TensorTable* dst, int dst_layers) {
  if (src_layers < 1 || dst_layers < 1)
    return Status::Error("tiling: layer counts must be positive");
  const std::vector<int> layer_map = TileLayerMap(src_layers, dst_layers);
  std::vector<std::string> untouched;
  for (auto& [name, t] : *dst) {
    std::string src_name = name;
    int layer = 0;
    std::string rest;
    if (ParseLayerName(name, &layer, &rest)) {
      if (layer >= dst_layers)
        return Status::Error("tiling: parameter '" + name + "' has a layer index >= the " +
                             std::to_string(dst_layers) + " layers given for the target");
      src_name =
          "model.layers." + std::to_string(layer_map[static_cast<size_t>(layer)]) + "." + rest;
    }
    auto it = src.find(src_name);
    if (it == src.end()) {
      if (EndsWith(name, ".attn_norm.weight")) {
        untouched.push_back(name);  // source layer 0 has no attn_norm (Identity)
        continue;
      }
      return Status::Error("tiling: the source checkpoint has no '" + src_name + "' for '" + name +
                           "'");
    }
    const Tensor& s = it->second;
    const int parts = FusedParts(name);
    if (s.ndim() != t.ndim() || (t.ndim() != 1 && t.ndim() != 2))
      return Status::Error("tiling: '" + src_name + "' is " + ShapeString(s.shape()) +
                           " but the target '" + name + "' is " + ShapeString(t.shape()) +
                           "; only 1-D and 2-D tensors of equal rank can be tiled");
    if (s.dim(0) % parts != 0 || t.dim(0) % parts != 0)
      return Status::Error("tiling: fused '" + name + "' must have dim 0 divisible by " +
                           std::to_string(parts));
    TileCentreFused(s, &t, parts);
  }
  return untouched;
}

}  // namespace mbert
