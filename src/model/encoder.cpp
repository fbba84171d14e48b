#include "model/encoder.h"

#include <algorithm>
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

// Longest sequence a model may declare: its RoPE tables (2 x rows x D floats) are built at load.
// 65,536 positions at D = 64 is 32 MB; ModernBERT's is 8,192.
constexpr int64_t kMaxPositions = 65536;

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

Result<Encoder> Encoder::Load(const std::string& dir, const LoadOptions& opts) {
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

Result<Encoder> Encoder::FromParams(ModelConfig config, TensorTable params,
                                    const LoadOptions& opts) {
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

Result<Encoder> Encoder::FromTables(ModelConfig config, TensorTable params, Bf16Table bf16,
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
  Encoder m;
  m.config_ = std::move(config);
  m.plan_ = BuildLayerPlan(m.config_);
  m.dtype_ = dtype;
  m.params_ = std::move(params);
  m.bf16_params_ = std::move(bf16);
  // Both RoPE tables cover every position Validate accepts, built once here so that Forward
  // never grows them (it is const and may run on several threads at once).
  const int64_t rope_rows = m.config_.max_position_embeddings;
  if (rope_rows > kMaxPositions)
    return Status::Error("config.json: max_position_embeddings " + std::to_string(rope_rows) +
                         " is above the supported " + std::to_string(kMaxPositions));
  m.rope_global_ =
      std::make_unique<ops::RopeTable>(m.config_.global_rope_theta, m.config_.head_dim, rope_rows);
  m.rope_local_ =
      std::make_unique<ops::RopeTable>(m.config_.local_rope_theta, m.config_.head_dim, rope_rows);
  m.BuildKernels();
  return m;
}

const Tensor& Encoder::param(const std::string& name) const {
  auto it = params_.find(name);
  MBERT_CHECK(it != params_.end(), "no fp32 parameter ", name,
              bf16_params_.count(name) ? " (this model keeps it in bf16)" : "");
  return it->second;
}

int64_t Encoder::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : params_) n += t.numel();
  for (const auto& [name, t] : bf16_params_) n += t.numel();
  return n;
}

int64_t Encoder::weight_bytes() const {
  int64_t bytes = 0;
  for (const auto& [name, t] : params_) bytes += t.numel() * 4;
  for (const auto& [name, t] : bf16_params_) bytes += t.numel() * 2;
  for (const auto& [name, lin] : linears_) bytes += lin->owned_bytes();
  return bytes;
}

const ops::Linear& Encoder::linear(const std::string& weight_name) const {
  auto it = linears_.find(weight_name);
  MBERT_CHECK(it != linears_.end(), "no GEMM for ", weight_name);
  return *it->second;
}

void Encoder::BuildKernels() {
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

bool Encoder::TiedDecoder() const {
  return config_.architecture == Architecture::kMaskedLM && config_.tie_word_embeddings;
}

std::string Encoder::GemmWeightName(const std::string& gemm) const {
  // Tied decoder: logits = head(h) · Eᵀ + b, E the token embedding (V, C).
  return gemm == "decoder.weight" && TiedDecoder() ? kTokEmbeddings : gemm;
}

void Encoder::AddLinear(const std::string& gemm) {
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

void Encoder::RefreshWeights() {
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

Status Encoder::Validate(const PackedBatch& b) const {
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

Status Encoder::Forward(const PackedBatch& batch, ForwardContext& ctx, std::vector<float>* hidden,
                        ForwardActivations* acts) const {
  MBERT_RETURN_IF_ERROR(Validate(batch));
  if (acts != nullptr && dtype_ == WeightDtype::kBF16)
    return Status::Error("a bf16 model is inference-only: load it in f32 to train");
  const ModelConfig& c = config_;
  const int64_t N = batch.num_tokens();
  const int64_t C = c.hidden_size, I = c.intermediate_size;
  const int H = c.num_attention_heads, D = c.head_dim;
  const int B = batch.num_seqs();
  const int L = static_cast<int>(plan_.size());
  const float eps = static_cast<float>(c.norm_eps);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const size_t NC = static_cast<size_t>(N * C);

  float* x = Grow(ctx.x, NC);                              // (N, C) residual stream
  float* h = Grow(ctx.h, NC);                              // (N, C) normed input of a sublayer
  float* qkv = Grow(ctx.qkv, NC * 3);                      // (N, 3C)
  float* attn = Grow(ctx.attn, NC);                        // (N, C)
  float* tmp = Grow(ctx.tmp, NC);                          // (N, C) embedding rows
  float* u = Grow(ctx.u, static_cast<size_t>(N * 2 * I));  // (N, 2I)
  float* g = Grow(ctx.g, static_cast<size_t>(N * I));      // (N, I)
  // resize, not assign: a reused ForwardActivations keeps its buffers (every field is rewritten
  // below), so a training step does not re-allocate and page-fault its activations.
  if (acts != nullptr) acts->layers.resize(plan_.size());
  ctx.Begin(N);

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
  ctx.Emit(-1, "embeddings", "embedding", x, N, C);

  // h holds the normalised input of the next attention block; layer 0 has no attn_norm.
  for (int li = 0; li < L; ++li) {
    const LayerSpec& spec = plan_[static_cast<size_t>(li)];
    const LayerKernels& k = layer_kernels_[static_cast<size_t>(li)];
    LayerActivations* la = acts ? &acts->layers[static_cast<size_t>(li)] : nullptr;
    if (la) la->x_in.assign(x, x + NC);

    const float* attn_in = x;
    if (spec.has_attn_norm) {
      if (la) {
        la->mean_attn.resize(static_cast<size_t>(N));
        la->rstd_attn.resize(static_cast<size_t>(N));
      }
      ops::LayerNormForward(x, C, k.attn_norm, h, C, N, C, eps, la ? la->mean_attn.data() : nullptr,
                            la ? la->rstd_attn.data() : nullptr);
      ctx.Emit(li, "attn_norm", "layer_norm", h, N, C);
      attn_in = h;
    }
    if (la) la->h_attn.assign(attn_in, attn_in + NC);

    // Fused Wqkv: columns laid out [3, H, D] (q, k, v), RoPE on q and k.
    k.wqkv->Forward(attn_in, N, qkv);
    ctx.Emit(li, "qkv", "gemm_wqkv", qkv, N, 3 * C);
    ops::RopeForward(qkv, 3 * C, batch.positions.data(), N, H, D, rope(spec.global));
    ctx.Emit(li, "qkv_rope", "rope", qkv, N, 3 * C);
    if (la) {
      la->qkv.assign(qkv, qkv + NC * 3);
      la->lse.resize(static_cast<size_t>(N * H));
    }
    ops::AttentionForward(qkv, qkv + C, qkv + 2 * C, 3 * C, attn, C, la ? la->lse.data() : nullptr,
                          batch.cu_seqlens.data(), B, H, D, spec.window, scale);
    ctx.Emit(li, "attn", spec.global ? "attention_global" : "attention_local", attn, N, C);
    if (la) la->attn.assign(attn, attn + NC);

    // The Wo GEMM accumulates straight into the residual stream (x += attn·Woᵀ).
    k.wo->Forward(attn, N, x, C, /*accumulate=*/true);
    ctx.Emit(li, "attn_residual", "gemm_wo", x, N, C);
    if (la) {
      la->mean_mlp.resize(static_cast<size_t>(N));
      la->rstd_mlp.resize(static_cast<size_t>(N));
    }
    ops::LayerNormForward(x, C, k.mlp_norm, h, C, N, C, eps, la ? la->mean_mlp.data() : nullptr,
                          la ? la->rstd_mlp.data() : nullptr);
    ctx.Emit(li, "mlp_norm", "layer_norm", h, N, C);
    if (la) {
      la->x_mid.assign(x, x + NC);
      la->h_mlp.assign(h, h + NC);
    }

    // GeGLU MLP: u = h Wiᵀ = [input | gate], g = gelu(input) * gate, x += g Woᵀ.
    k.wi->Forward(h, N, u);
    ctx.Emit(li, "mlp_wi", "gemm_wi", u, N, 2 * I);
    ops::GegluForward(u, g, N, I);
    ctx.Emit(li, "geglu", "geglu", g, N, I);
    if (la) {
      la->u.assign(u, u + N * 2 * I);
      la->g.assign(g, g + N * I);
    }
    k.mlp_wo->Forward(g, N, x, C, /*accumulate=*/true);
    ctx.Emit(li, "hidden", "gemm_mlp_wo", x, N, C);
  }

  hidden->resize(NC);
  if (acts != nullptr) {
    acts->x_final.assign(x, x + NC);
    acts->mean_final.resize(static_cast<size_t>(N));
    acts->rstd_final.resize(static_cast<size_t>(N));
  }
  ops::LayerNormForward(x, C, param("model.final_norm.weight").data(), hidden->data(), C, N, C, eps,
                        acts ? acts->mean_final.data() : nullptr,
                        acts ? acts->rstd_final.data() : nullptr);
  ctx.Emit(L, "final_norm", "layer_norm", hidden->data(), N, C);
  return Status::Ok();
}

}  // namespace mbert
