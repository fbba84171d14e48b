// mbert::Model: a loaded ModernBERT model directory — weights, tokenizer, embedding settings —
// immutable once loaded. Share one Model between threads (std::shared_ptr<const Model>); each
// thread runs tasks through its own mbert::Context (context.h). This is llama.cpp's
// llama_model / llama_context split: the model is read-only, the context holds per-caller state.
//
//   auto model = mbert::Model::Load("path/to/ModernBERT-base");
//   if (!model.ok()) { /* model.status().message() names the file and field at fault */ }
//   mbert::Context ctx(model.value());
//   auto emb = mbert::Embed(ctx, {mbert::Input::Text("hello")});   // tasks.h
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mbert/status.h"
#include "mbert/tokenizer.h"
#include "mbert/types.h"

namespace mbert {

// What a checkpoint's architecture computes on top of the encoder.
enum class ModelTask {
  kEncoder,                 // ModernBertModel: hidden states and embeddings only
  kFillMask,                // ModernBertForMaskedLM
  kSequenceClassification,  // ModernBertForSequenceClassification
  kTokenClassification,     // ModernBertForTokenClassification
};

struct ModelInfo {
  std::string path;          // the directory it was loaded from
  std::string architecture;  // e.g. "ModernBertForMaskedLM"
  ModelTask task = ModelTask::kEncoder;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // C
  int64_t intermediate_size = 0;  // I
  int num_layers = 0;
  int num_heads = 0;
  int64_t max_position_embeddings = 0;   // longest input, in tokens
  int local_attention = 0;               // total local window (half window = local_attention / 2)
  std::vector<std::string> layer_types;  // per layer: "full_attention" or "sliding_attention"
  std::vector<std::string> labels;       // id2label, index = label id (classification models)
  WeightDtype dtype = WeightDtype::kF32;
  int64_t num_parameters = 0;
  int64_t weight_bytes = 0;    // bytes of weights held (fp32 + bf16 tensors + GEMM copies)
  bool has_tokenizer = false;  // tokenizer.json present: text inputs work
  // Sentence embeddings as Embed() computes them by default (sentence-transformers modules when
  // the directory has modules.json, else mean pooling of the last hidden state).
  EmbedPooling embedding_pooling = EmbedPooling::kMean;
  bool embedding_normalize = false;
  int64_t embedding_dim = 0;
  int32_t mask_token_id = -1;  // -1 without a tokenizer
  // A ColBERT (PyLate) model: ColbertEmbed gives its token vectors; Embed needs an explicit
  // pooling (a mean-pooled vector is not ColBERT's output).
  bool colbert = false;
  int64_t colbert_dim = 0;              // token vector size (the Dense projection's)
  int64_t colbert_query_length = 0;     // queries: [MASK]-expanded to exactly this many tokens
  int64_t colbert_document_length = 0;  // documents: truncated to at most this many
};

class MBERT_API Model {
 public:
  // Loads a model directory: config.json, model.safetensors (or a sharded index), tokenizer.json
  // and sentence-transformers modules when present. Errors name the file and field at fault.
  // A model name, org/name[@revision], is looked up in the Hugging Face cache (HF_HUB_CACHE,
  // HF_HOME, ~/.cache/huggingface/hub) and downloaded from the Hub first when missing, unless
  // HF_HUB_OFFLINE=1.
  static Result<std::shared_ptr<const Model>> Load(const std::string& name_or_dir,
                                                   const LoadOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const;
  // Null when the directory has no tokenizer.json (inputs must then be token ids).
  const Tokenizer* tokenizer() const;

  // The library's own view of the loaded weights (src/tasks/model_impl.h); not for users.
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mbert
