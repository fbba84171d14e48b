// ModernBertConfig as read from a Hugging Face config.json. Both transformers 4.x field names
// (global_rope_theta / local_rope_theta / global_attn_every_n_layers) and 5.x names
// (rope_parameters / layer_types) are understood; defaults are ModernBertConfig's class defaults.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert {

enum class Architecture {
  kModel,                   // ModernBertModel: last hidden state only
  kMaskedLM,                // ModernBertForMaskedLM
  kSequenceClassification,  // ModernBertForSequenceClassification
  kTokenClassification,     // ModernBertForTokenClassification
};

enum class Pooling { kCls, kMean };

struct ModelConfig {
  Architecture architecture = Architecture::kMaskedLM;
  std::string architecture_name = "ModernBertForMaskedLM";
  int64_t vocab_size = 50368;
  int64_t hidden_size = 768;         // C
  int64_t intermediate_size = 1152;  // I (one GLU half; Wi outputs 2I)
  int num_hidden_layers = 22;        // L
  int num_attention_heads = 12;      // H
  int head_dim = 64;                 // D = C / H
  int64_t max_position_embeddings = 8192;
  double norm_eps = 1e-5;
  int32_t pad_token_id = 50283;
  int32_t bos_token_id = 50281;
  int32_t eos_token_id = 50282;
  int32_t cls_token_id = 50281;
  int32_t sep_token_id = 50282;
  double global_rope_theta = 160000.0;
  double local_rope_theta = 10000.0;
  int local_attention = 128;          // total window; half window W = local_attention / 2
  std::vector<bool> layer_is_global;  // (L) from layer_types or i % global_attn_every_n_layers == 0
  bool attention_bias = false;
  bool mlp_bias = false;
  bool decoder_bias = true;
  bool classifier_bias = false;
  bool tie_word_embeddings = true;
  Pooling classifier_pooling = Pooling::kCls;
  std::vector<std::string> id2label;  // index = label id; empty for MLM/base models
  float initializer_range = 0.02f;
  float initializer_cutoff_factor = 2.0f;
  // Dropout probabilities as config.json states them (all 0 in ModernBERT's released configs and
  // class defaults). Inference ignores them (eval mode); fine-tuning refuses non-zero values
  // rather than silently training without them (finetuner.h).
  double attention_dropout = 0.0, embedding_dropout = 0.0, mlp_dropout = 0.0,
         classifier_dropout = 0.0;
  bool sparse_prediction = false;
  int32_t sparse_pred_ignore_index = -100;

  int num_labels() const { return static_cast<int>(id2label.size()); }
  int half_window() const { return local_attention / 2; }

  // Parses config.json content; `origin` (the file path) prefixes every error message.
  static Result<ModelConfig> FromJson(const nlohmann::json& j, const std::string& origin);
  static Result<ModelConfig> FromFile(const std::string& path);
  // Writes a transformers-loadable config.json object (5.x names plus the 4.x aliases).
  nlohmann::json ToJson() const;
};

const char* ArchitectureName(Architecture a);

}  // namespace mbert
