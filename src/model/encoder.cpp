#include "model/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/dtype.h"
#include "core/file_io.h"
#include "model/weights.h"
#include "ops/cpu/attention.h"
#include "ops/cpu/embedding.h"
#include "ops/cpu/gelu.h"
#include "ops/cpu/layer_norm.h"

namespace mbert {

namespace {

template <typename V>
float* Grow(V& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

constexpr const char* kTokEmbeddings = "model.embeddings.tok_embeddings.weight";

// "<prefix>weight" -> "<prefix>bias".
std::string BiasName(const std::string& weight) {
  return weight.substr(0, weight.size() - std::string("weight").size()) + "bias";
}

const float* OptionalBias(const TensorTable& p, const std::string& name) {
  auto it = p.find(name);
  return it == p.end() ? nullptr : it->second.data();
}

}  // namespace

Result<WeightDtype> ParseWeightDtype(const std::string& s) {
  if (s == "f32") return WeightDtype::kF32;
  if (s == "bf16") return WeightDtype::kBF16;
  return Status::Error("unknown weight dtype '" + s + "' (expected f32 or bf16)");
}

const char* WeightDtypeName(WeightDtype d) { return d == WeightDtype::kBF16 ? "bf16" : "f32"; }

Result<Model> Model::Load(const std::string& dir, const LoadOptions& opts) {
  MBERT_ASSIGN_OR_RETURN(ModelConfig config, ModelConfig::FromFile(dir + "/config.json"));
  if (opts.dtype == WeightDtype::kF32) {
    MBERT_ASSIGN_OR_RETURN(TensorTable params, LoadWeights(dir, config));
    return FromTables(std::move(config), std::move(params), {}, opts.dtype);
  }
  TensorTable params;
  Bf16Table bf16;
  MBERT_RETURN_IF_ERROR(LoadWeightsBf16(dir, config, &params, &bf16));
  return FromTables(std::move(config), std::move(params), std::move(bf16), opts.dtype);
}

Result<Model> Model::FromParams(ModelConfig config, TensorTable params, const LoadOptions& opts) {
  Bf16Table bf16;
  if (opts.dtype == WeightDtype::kBF16) {
    for (auto it = params.begin(); it != params.end();) {
      const Tensor& t = it->second;
      if (t.ndim() != 2) {
        ++it;
        continue;
      }
      Bf16Tensor b(t.shape());
      for (int64_t i = 0; i < t.numel(); ++i) b.data()[i] = FloatToBf16(t.data()[i]);
      bf16.emplace(it->first, std::move(b));
      it = params.erase(it);  // frees the fp32 copy before the next tensor is converted
    }
  }
  return FromTables(std::move(config), std::move(params), std::move(bf16), opts.dtype);
}

Result<Model> Model::FromTables(ModelConfig config, TensorTable params, Bf16Table bf16,
                                WeightDtype dtype) {
  for (const ParamSpec& spec : ExpectedParams(config)) {
    const std::vector<int64_t>* shape = nullptr;
    if (auto it = params.find(spec.name); it != params.end()) shape = &it->second.shape();
    if (auto it = bf16.find(spec.name); it != bf16.end()) shape = &it->second.shape();
    if (shape == nullptr) return Status::Error("missing parameter " + spec.name);
    if (*shape != spec.shape)
      return Status::Error("parameter " + spec.name + " has shape " + ShapeString(*shape) +
                           ", expected " + ShapeString(spec.shape));
  }
  Model m;
  m.config_ = std::move(config);
  m.plan_ = BuildLayerPlan(m.config_);
  m.dtype_ = dtype;
  m.params_ = std::move(params);
  m.bf16_params_ = std::move(bf16);
  m.rope_global_ =
      std::make_unique<ops::RopeTable>(m.config_.global_rope_theta, m.config_.head_dim, 512);
  m.rope_local_ =
      std::make_unique<ops::RopeTable>(m.config_.local_rope_theta, m.config_.head_dim, 512);
  m.BuildKernels();
  return m;
}

const Tensor& Model::param(const std::string& name) const {
  auto it = params_.find(name);
  MBERT_CHECK(it != params_.end(), "no fp32 parameter ", name,
              bf16_params_.count(name) ? " (this model keeps it in bf16)" : "");
  return it->second;
}

int64_t Model::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : params_) n += t.numel();
  for (const auto& [name, t] : bf16_params_) n += t.numel();
  return n;
}

int64_t Model::weight_bytes() const {
  int64_t bytes = 0;
  for (const auto& [name, t] : params_) bytes += t.numel() * 4;
  for (const auto& [name, t] : bf16_params_) bytes += t.numel() * 2;
  for (const auto& [name, lin] : linears_) bytes += lin->owned_bytes();
  return bytes;
}

const ops::Linear& Model::linear(const std::string& weight_name) const {
  auto it = linears_.find(weight_name);
  MBERT_CHECK(it != linears_.end(), "no GEMM for ", weight_name);
  return *it->second;
}

void Model::BuildKernels() {
  linears_.clear();
  for (const ParamSpec& spec : ExpectedParams(config_)) {
    if (spec.shape.size() == 2 && spec.name != kTokEmbeddings) AddLinear(spec.name);
  }
  if (TiedDecoder()) AddLinear("decoder.weight");
  layer_kernels_.clear();
  for (size_t i = 0; i < plan_.size(); ++i) {
    const std::string pre = "model.layers." + std::to_string(i) + ".";
    layer_kernels_.push_back(
        {&linear(pre + "attn.Wqkv.weight"), &linear(pre + "attn.Wo.weight"),
         &linear(pre + "mlp.Wi.weight"), &linear(pre + "mlp.Wo.weight"),
         plan_[i].has_attn_norm ? param(pre + "attn_norm.weight").data() : nullptr,
         param(pre + "mlp_norm.weight").data()});
  }
}

bool Model::TiedDecoder() const {
  return config_.architecture == Architecture::kMaskedLM && config_.tie_word_embeddings;
}

std::string Model::GemmWeightName(const std::string& gemm) const {
  // Tied decoder: logits = head(h) · Eᵀ + b, E the token embedding (V, C).
  return gemm == "decoder.weight" && TiedDecoder() ? kTokEmbeddings : gemm;
}

void Model::AddLinear(const std::string& gemm) {
  const std::string weight = GemmWeightName(gemm);
  const float* bias = OptionalBias(params_, BiasName(gemm));
  if (auto it = bf16_params_.find(weight); it != bf16_params_.end()) {
    const Bf16Tensor& w = it->second;
    linears_[gemm] =
        std::make_unique<ops::Linear>(ops::Linear::BorrowBf16(w.data(), w.dim(0), w.dim(1), bias));
    return;
  }
  const Tensor& w = param(weight);
  linears_[gemm] =
      std::make_unique<ops::Linear>(ops::Linear::Borrow(w.data(), w.dim(0), w.dim(1), bias));
}

void Model::RefreshWeights() {
  MBERT_CHECK(dtype_ == WeightDtype::kF32,
              "RefreshWeights on a bf16 model: bf16 weights are for inference only; load the "
              "model in f32 to train it");
  // Re-pack in place (same tensors, same shapes): keeps each GEMM's primitive cache, unlike
  // rebuilding the kernels, which an optimizer step would otherwise pay every step. Borrowed
  // weights already hold the new values; this only re-points them at the tensors.
  for (auto& [name, lin] : linears_) {
    lin->Repack(param(GemmWeightName(name)).data(), OptionalBias(params_, BiasName(name)));
  }
}

namespace {

// Times one op into the attached profile (a no-op when none is attached).
template <typename F>
void Timed(OpProfile* p, const char* name, F&& f) {
  if (p == nullptr) {
    f();
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  f();
  p->seconds[name] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Status Model::Validate(const PackedBatch& b) const {
  const int64_t N = static_cast<int64_t>(b.input_ids.size());
  if (N == 0) return Status::Error("empty input: a batch needs at least one token");
  if (b.cu_seqlens.size() < 2 || b.cu_seqlens.front() != 0 || b.cu_seqlens.back() != N)
    return Status::Error("cu_seqlens must start at 0 and end at the token count " +
                         std::to_string(N));
  for (size_t i = 1; i < b.cu_seqlens.size(); ++i) {
    if (b.cu_seqlens[i] <= b.cu_seqlens[i - 1])
      return Status::Error("sequence " + std::to_string(i - 1) +
                           " is empty or cu_seqlens is not increasing");
  }
  if (b.positions.size() != b.input_ids.size())
    return Status::Error("positions must have one entry per token");
  for (int64_t i = 0; i < N; ++i) {
    const int32_t id = b.input_ids[static_cast<size_t>(i)];
    if (id < 0 || id >= config_.vocab_size) {
      return Status::Error("token id " + std::to_string(id) + " at position " + std::to_string(i) +
                           " is outside the vocabulary [0, " + std::to_string(config_.vocab_size) +
                           ")");
    }
  }
  for (size_t s = 0; s + 1 < b.cu_seqlens.size(); ++s) {
    const int64_t len = b.cu_seqlens[s + 1] - b.cu_seqlens[s];
    if (len > config_.max_position_embeddings) {
      return Status::Error("sequence " + std::to_string(s) + " has " + std::to_string(len) +
                           " tokens, more than max_position_embeddings " +
                           std::to_string(config_.max_position_embeddings) +
                           "; truncate the input");
    }
  }
  return Status::Ok();
}

Status Model::Forward(const PackedBatch& batch, std::vector<float>* hidden,
                      ForwardActivations* acts, const TapFn& tap) {
  MBERT_RETURN_IF_ERROR(Validate(batch));
  if (acts != nullptr && dtype_ == WeightDtype::kBF16)
    return Status::Error("a bf16 model is inference-only: load it in f32 to train");
  const ModelConfig& c = config_;
  const int64_t N = batch.num_tokens();
  const int64_t C = c.hidden_size, I = c.intermediate_size;
  const int H = c.num_attention_heads, D = c.head_dim;
  const int B = batch.num_seqs();
  const float eps = static_cast<float>(c.norm_eps);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const size_t NC = static_cast<size_t>(N * C);

  int32_t max_pos = 0;
  for (int32_t p : batch.positions) max_pos = std::max(max_pos, p);
  rope_global_->Ensure(max_pos + 1);
  rope_local_->Ensure(max_pos + 1);

  float* x = Grow(x_, NC);                              // (N, C) residual stream
  float* h = Grow(h_, NC);                              // (N, C) normed input of a sublayer
  float* qkv = Grow(qkv_, NC * 3);                      // (N, 3C)
  float* attn = Grow(attn_, NC);                        // (N, C)
  float* tmp = Grow(tmp_, NC);                          // (N, C) sublayer output
  float* u = Grow(u_, static_cast<size_t>(N * 2 * I));  // (N, 2I)
  float* g = Grow(g_, static_cast<size_t>(N * I));      // (N, I)
  // resize, not assign: a reused ForwardActivations keeps its buffers (every field is rewritten
  // below), so a training step does not re-allocate and page-fault its activations.
  if (acts != nullptr) acts->layers.resize(plan_.size());
  if (profile_ != nullptr) profile_->tokens += N;
  const auto t_embed = std::chrono::steady_clock::now();

  // Embeddings: h0 = LayerNorm(E[ids]) (no positions, no token types; dropout 0 at inference).
  if (dtype_ == WeightDtype::kBF16) {
    ops::EmbeddingForwardBf16(bf16_params_.at(kTokEmbeddings).data(), C, batch.input_ids.data(), N,
                              tmp);
  } else {
    ops::EmbeddingForward(param(kTokEmbeddings).data(), C, batch.input_ids.data(), N, tmp);
  }
  if (acts != nullptr) {
    acts->emb.assign(tmp, tmp + NC);
    acts->mean_emb.resize(static_cast<size_t>(N));
    acts->rstd_emb.resize(static_cast<size_t>(N));
  }
  ops::LayerNormForward(tmp, C, param("model.embeddings.norm.weight").data(), x, C, N, C, eps,
                        acts ? acts->mean_emb.data() : nullptr,
                        acts ? acts->rstd_emb.data() : nullptr);
  if (tap) tap(-1, "embeddings", x);
  if (profile_ != nullptr)
    profile_->seconds["embedding"] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_embed).count();

  // h holds the normalised input of the next attention block; layer 0 has no attn_norm.
  for (size_t li = 0; li < plan_.size(); ++li) {
    const LayerSpec& spec = plan_[li];
    const LayerKernels& k = layer_kernels_[li];
    OpProfile* prof = profile_;
    LayerActivations* la = acts ? &acts->layers[li] : nullptr;
    if (la) la->x_in.assign(x, x + NC);

    const float* attn_in = x;
    if (spec.has_attn_norm) {
      if (la) {
        la->mean_attn.resize(static_cast<size_t>(N));
        la->rstd_attn.resize(static_cast<size_t>(N));
      }
      Timed(prof, "layer_norm", [&] {
        ops::LayerNormForward(x, C, k.attn_norm, h, C, N, C, eps,
                              la ? la->mean_attn.data() : nullptr,
                              la ? la->rstd_attn.data() : nullptr);
      });
      attn_in = h;
    }
    if (la) la->h_attn.assign(attn_in, attn_in + NC);

    // Fused Wqkv: columns laid out [3, H, D] (q, k, v), RoPE on q and k.
    Timed(prof, "gemm_wqkv", [&] { k.wqkv->Forward(attn_in, N, qkv); });
    Timed(prof, "rope", [&] {
      ops::RopeForward(qkv, 3 * C, batch.positions.data(), N, H, D, rope(spec.global));
    });
    if (la) {
      la->qkv.assign(qkv, qkv + NC * 3);
      la->lse.resize(static_cast<size_t>(N * H));
    }
    Timed(prof, spec.global ? "attention_global" : "attention_local", [&] {
      ops::AttentionForward(qkv, qkv + C, qkv + 2 * C, 3 * C, attn, C,
                            la ? la->lse.data() : nullptr, batch.cu_seqlens.data(), B, H, D,
                            spec.window, scale);
    });
    if (la) la->attn.assign(attn, attn + NC);
    if (la) {
      la->mean_mlp.resize(static_cast<size_t>(N));
      la->rstd_mlp.resize(static_cast<size_t>(N));
    }
    float* mean_mlp = la ? la->mean_mlp.data() : nullptr;
    float* rstd_mlp = la ? la->rstd_mlp.data() : nullptr;
    const float* mlp_norm = k.mlp_norm;
    if (tap) {
      // Taps need the sublayer output on its own: x += attn_out via the fused add + norm.
      k.wo->Forward(attn, N, tmp);
      tap(static_cast<int>(li), "attn_out", tmp);
      ops::AddLayerNormForward(x, tmp, mlp_norm, h, N, C, eps, mean_mlp, rstd_mlp);
    } else {
      // Hot path: the GEMM accumulates straight into the residual stream (x += attn·Woᵀ).
      Timed(prof, "gemm_wo", [&] { k.wo->Forward(attn, N, x, C, /*accumulate=*/true); });
      Timed(prof, "layer_norm",
            [&] { ops::LayerNormForward(x, C, mlp_norm, h, C, N, C, eps, mean_mlp, rstd_mlp); });
    }
    if (la) {
      la->x_mid.assign(x, x + NC);
      la->h_mlp.assign(h, h + NC);
    }

    // GeGLU MLP: u = h Wiᵀ = [input | gate], g = gelu(input) * gate, out = g Woᵀ.
    Timed(prof, "gemm_wi", [&] { k.wi->Forward(h, N, u); });
    Timed(prof, "geglu", [&] { ops::GegluForward(u, g, N, I); });
    if (la) {
      la->u.assign(u, u + N * 2 * I);
      la->g.assign(g, g + N * I);
    }
    if (tap) {
      k.mlp_wo->Forward(g, N, tmp);
      tap(static_cast<int>(li), "mlp_out", tmp);
#pragma omp parallel for simd schedule(static)
      for (size_t k = 0; k < NC; ++k) x[k] += tmp[k];
    } else {
      Timed(prof, "gemm_mlp_wo",
            [&] { k.mlp_wo->Forward(g, N, x, C, /*accumulate=*/true); });  // x += g·Woᵀ
    }
    if (tap) tap(static_cast<int>(li), "hidden", x);
  }

  hidden->resize(NC);
  if (acts != nullptr) {
    acts->x_final.assign(x, x + NC);
    acts->mean_final.resize(static_cast<size_t>(N));
    acts->rstd_final.resize(static_cast<size_t>(N));
  }
  Timed(profile_, "layer_norm", [&] {
    ops::LayerNormForward(x, C, param("model.final_norm.weight").data(), hidden->data(), C, N, C,
                          eps, acts ? acts->mean_final.data() : nullptr,
                          acts ? acts->rstd_final.data() : nullptr);
  });
  if (tap) tap(static_cast<int>(plan_.size()), "final_norm", hidden->data());
  return Status::Ok();
}

}  // namespace mbert
