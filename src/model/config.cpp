#include "model/config.h"

#include <cmath>

#include "core/file_io.h"

namespace mbert {

namespace {

using json = nlohmann::json;

// Reads an optional field of the expected JSON kind; a wrong kind is an error naming the field.
template <typename T>
Status Get(const json& j, const char* key, T* out, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  const std::string where = origin + ": field '" + key + "'";
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return Status::Error(where + " must be true or false");
  } else if constexpr (std::is_integral_v<T>) {
    if (!it->is_number_integer()) return Status::Error(where + " must be an integer");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!it->is_number()) return Status::Error(where + " must be a number");
  } else {
    if (!it->is_string()) return Status::Error(where + " must be a string");
  }
  *out = it->get<T>();
  return Status::Ok();
}

Status ParseRopeParameters(const json& rp, ModelConfig* c, const std::string& origin) {
  if (!rp.is_object()) return Status::Error(origin + ": 'rope_parameters' must be an object");
  auto read = [&](const char* kind, double* theta) -> Status {
    auto it = rp.find(kind);
    if (it == rp.end()) return Status::Ok();
    const std::string where = origin + ": rope_parameters." + kind;
    if (!it->is_object()) return Status::Error(where + " must be an object");
    auto type = it->find("rope_type");
    if (type != it->end() && !(type->is_string() && type->get<std::string>() == "default")) {
      return Status::Error(where + ".rope_type " + type->dump() +
                           " is not supported (only \"default\" RoPE, as ModernBERT uses)");
    }
    auto th = it->find("rope_theta");
    if (th != it->end()) {
      if (!th->is_number()) return Status::Error(where + ".rope_theta must be a number");
      *theta = th->get<double>();
    }
    return Status::Ok();
  };
  MBERT_RETURN_IF_ERROR(read("full_attention", &c->global_rope_theta));
  MBERT_RETURN_IF_ERROR(read("sliding_attention", &c->local_rope_theta));
  return Status::Ok();
}

}  // namespace

const char* ArchitectureName(Architecture a) {
  switch (a) {
    case Architecture::kModel: return "ModernBertModel";
    case Architecture::kMaskedLM: return "ModernBertForMaskedLM";
    case Architecture::kSequenceClassification: return "ModernBertForSequenceClassification";
    case Architecture::kTokenClassification: return "ModernBertForTokenClassification";
  }
  return "?";
}

Result<ModelConfig> ModelConfig::FromFile(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
  return FromJson(j, path);
}

Result<ModelConfig> ModelConfig::FromJson(const json& j, const std::string& origin) {
  if (!j.is_object()) return Status::Error(origin + ": config must be a JSON object");
  ModelConfig c;

  std::string model_type;
  MBERT_RETURN_IF_ERROR(Get(j, "model_type", &model_type, origin));
  if (!model_type.empty() && model_type != "modernbert") {
    return Status::Error(origin + ": model_type '" + model_type +
                         "' is not supported; mbert loads ModernBERT checkpoints (model_type "
                         "\"modernbert\")");
  }
  c.architecture = Architecture::kModel;
  c.architecture_name = "ModernBertModel";
  if (auto a = j.find("architectures"); a != j.end() && !a->is_null()) {
    if (!a->is_array() || a->empty() || !(*a)[0].is_string())
      return Status::Error(origin + ": 'architectures' must be a non-empty list of strings");
    const std::string name = (*a)[0].get<std::string>();
    if (name == "ModernBertModel") c.architecture = Architecture::kModel;
    else if (name == "ModernBertForMaskedLM") c.architecture = Architecture::kMaskedLM;
    else if (name == "ModernBertForSequenceClassification")
      c.architecture = Architecture::kSequenceClassification;
    else if (name == "ModernBertForTokenClassification")
      c.architecture = Architecture::kTokenClassification;
    else
      return Status::Error(origin + ": architecture '" + name +
                           "' is not supported; expected ModernBertModel, ModernBertForMaskedLM, "
                           "ModernBertForSequenceClassification or "
                           "ModernBertForTokenClassification");
    c.architecture_name = name;
  }

  MBERT_RETURN_IF_ERROR(Get(j, "vocab_size", &c.vocab_size, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "hidden_size", &c.hidden_size, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "intermediate_size", &c.intermediate_size, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "num_hidden_layers", &c.num_hidden_layers, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "num_attention_heads", &c.num_attention_heads, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "max_position_embeddings", &c.max_position_embeddings, origin));
  // transformers 4.x wrote both names; norm_eps wins when both are present (it is the field the
  // model reads), layer_norm_eps is the legacy alias.
  MBERT_RETURN_IF_ERROR(Get(j, "layer_norm_eps", &c.norm_eps, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "norm_eps", &c.norm_eps, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "pad_token_id", &c.pad_token_id, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "bos_token_id", &c.bos_token_id, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "eos_token_id", &c.eos_token_id, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "cls_token_id", &c.cls_token_id, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "sep_token_id", &c.sep_token_id, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "global_rope_theta", &c.global_rope_theta, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "local_rope_theta", &c.local_rope_theta, origin));
  if (auto rp = j.find("rope_parameters"); rp != j.end() && !rp->is_null()) {
    MBERT_RETURN_IF_ERROR(ParseRopeParameters(*rp, &c, origin));
  }
  if (auto rs = j.find("rope_scaling"); rs != j.end() && !rs->is_null()) {
    return Status::Error(origin + ": 'rope_scaling' is set; scaled RoPE is not supported "
                                  "(ModernBERT uses plain RoPE; remove the field)");
  }
  MBERT_RETURN_IF_ERROR(Get(j, "local_attention", &c.local_attention, origin));
  if (auto sw = j.find("sliding_window"); sw != j.end() && sw->is_number_integer()) {
    c.local_attention = 2 * sw->get<int>();  // v5 property: sliding_window = local_attention / 2
  }
  MBERT_RETURN_IF_ERROR(Get(j, "attention_bias", &c.attention_bias, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "mlp_bias", &c.mlp_bias, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "decoder_bias", &c.decoder_bias, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "classifier_bias", &c.classifier_bias, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "tie_word_embeddings", &c.tie_word_embeddings, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "initializer_range", &c.initializer_range, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "initializer_cutoff_factor", &c.initializer_cutoff_factor, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "sparse_prediction", &c.sparse_prediction, origin));
  MBERT_RETURN_IF_ERROR(Get(j, "sparse_pred_ignore_index", &c.sparse_pred_ignore_index, origin));

  bool norm_bias = false;
  MBERT_RETURN_IF_ERROR(Get(j, "norm_bias", &norm_bias, origin));
  if (norm_bias) {
    return Status::Error(origin + ": norm_bias=true is not supported (ModernBERT's LayerNorms "
                                  "have no bias)");
  }
  for (const char* key : {"hidden_activation", "classifier_activation"}) {
    std::string act = "gelu";
    MBERT_RETURN_IF_ERROR(Get(j, key, &act, origin));
    if (act != "gelu") {
      return Status::Error(origin + ": " + key + " '" + act +
                           "' is not supported; ModernBERT uses \"gelu\" (exact erf GELU)");
    }
  }
  std::string pooling = "cls";
  MBERT_RETURN_IF_ERROR(Get(j, "classifier_pooling", &pooling, origin));
  if (pooling == "cls") c.classifier_pooling = Pooling::kCls;
  else if (pooling == "mean") c.classifier_pooling = Pooling::kMean;
  else
    return Status::Error(origin + ": classifier_pooling '" + pooling +
                         "' must be \"cls\" or \"mean\"");

  // Sizes.
  auto positive = [&](const char* key, int64_t v) -> Status {
    if (v <= 0) return Status::Error(origin + ": field '" + key + "' must be positive");
    return Status::Ok();
  };
  MBERT_RETURN_IF_ERROR(positive("vocab_size", c.vocab_size));
  MBERT_RETURN_IF_ERROR(positive("hidden_size", c.hidden_size));
  MBERT_RETURN_IF_ERROR(positive("intermediate_size", c.intermediate_size));
  MBERT_RETURN_IF_ERROR(positive("num_hidden_layers", c.num_hidden_layers));
  MBERT_RETURN_IF_ERROR(positive("num_attention_heads", c.num_attention_heads));
  MBERT_RETURN_IF_ERROR(positive("max_position_embeddings", c.max_position_embeddings));
  if (c.hidden_size % c.num_attention_heads != 0) {
    return Status::Error(origin + ": hidden_size " + std::to_string(c.hidden_size) +
                         " is not divisible by num_attention_heads " +
                         std::to_string(c.num_attention_heads));
  }
  c.head_dim = static_cast<int>(c.hidden_size / c.num_attention_heads);
  if (c.head_dim % 2 != 0) {
    return Status::Error(origin + ": head dim " + std::to_string(c.head_dim) +
                         " is odd; rotary embeddings need an even head dim");
  }
  if (c.local_attention < 0) return Status::Error(origin + ": local_attention must be >= 0");
  if (!(c.norm_eps > 0) || !std::isfinite(c.norm_eps))
    return Status::Error(origin + ": norm_eps must be a positive number");
  if (!(c.global_rope_theta > 0) || !(c.local_rope_theta > 0))
    return Status::Error(origin + ": RoPE theta must be positive");
  if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size) {
    return Status::Error(origin + ": pad_token_id " + std::to_string(c.pad_token_id) +
                         " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  }

  // Layer types: v5 list, else every n-th layer is global.
  c.layer_is_global.assign(static_cast<size_t>(c.num_hidden_layers), false);
  if (auto lt = j.find("layer_types"); lt != j.end() && !lt->is_null()) {
    if (!lt->is_array() || static_cast<int>(lt->size()) != c.num_hidden_layers) {
      return Status::Error(origin + ": 'layer_types' must list one type per layer (" +
                           std::to_string(c.num_hidden_layers) + ")");
    }
    for (int i = 0; i < c.num_hidden_layers; ++i) {
      const json& t = (*lt)[static_cast<size_t>(i)];
      const std::string s = t.is_string() ? t.get<std::string>() : t.dump();
      if (s == "full_attention") c.layer_is_global[static_cast<size_t>(i)] = true;
      else if (s != "sliding_attention")
        return Status::Error(origin + ": layer_types[" + std::to_string(i) + "] = '" + s +
                             "'; expected \"full_attention\" or \"sliding_attention\"");
    }
  } else {
    int every = 3;
    MBERT_RETURN_IF_ERROR(Get(j, "global_attn_every_n_layers", &every, origin));
    if (every <= 0) return Status::Error(origin + ": global_attn_every_n_layers must be positive");
    for (int i = 0; i < c.num_hidden_layers; ++i)
      c.layer_is_global[static_cast<size_t>(i)] = (i % every == 0);
  }

  // Labels.
  if (auto id2 = j.find("id2label"); id2 != j.end() && id2->is_object() && !id2->empty()) {
    c.id2label.assign(id2->size(), "");
    for (auto it = id2->begin(); it != id2->end(); ++it) {
      size_t pos = 0;
      long idx = -1;
      try {
        idx = std::stol(it.key(), &pos);
      } catch (...) {
        pos = 0;
      }
      if (pos != it.key().size() || idx < 0 || idx >= static_cast<long>(id2->size()) ||
          !it.value().is_string()) {
        return Status::Error(origin + ": id2label must map \"0\".." +
                             std::to_string(id2->size() - 1) + " to label strings");
      }
      c.id2label[static_cast<size_t>(idx)] = it.value().get<std::string>();
    }
  } else if (auto nl = j.find("num_labels"); nl != j.end() && nl->is_number_integer()) {
    for (int i = 0; i < nl->get<int>(); ++i) c.id2label.push_back("LABEL_" + std::to_string(i));
  }
  const bool needs_labels = c.architecture == Architecture::kSequenceClassification ||
                            c.architecture == Architecture::kTokenClassification;
  if (needs_labels && c.id2label.empty()) {
    // transformers' PretrainedConfig default is two labels.
    c.id2label = {"LABEL_0", "LABEL_1"};
  }
  return c;
}

nlohmann::json ModelConfig::ToJson() const {
  json j;
  j["architectures"] = {architecture_name};
  j["model_type"] = "modernbert";
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["max_position_embeddings"] = max_position_embeddings;
  j["norm_eps"] = norm_eps;
  j["norm_bias"] = false;
  j["pad_token_id"] = pad_token_id;
  j["bos_token_id"] = bos_token_id;
  j["eos_token_id"] = eos_token_id;
  j["cls_token_id"] = cls_token_id;
  j["sep_token_id"] = sep_token_id;
  j["global_rope_theta"] = global_rope_theta;
  j["local_rope_theta"] = local_rope_theta;
  j["rope_parameters"] = {
      {"full_attention", {{"rope_type", "default"}, {"rope_theta", global_rope_theta}}},
      {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", local_rope_theta}}}};
  json types = json::array();
  for (bool g : layer_is_global) types.push_back(g ? "full_attention" : "sliding_attention");
  j["layer_types"] = types;
  j["local_attention"] = local_attention;
  j["attention_bias"] = attention_bias;
  j["mlp_bias"] = mlp_bias;
  j["decoder_bias"] = decoder_bias;
  j["classifier_bias"] = classifier_bias;
  j["classifier_pooling"] = classifier_pooling == Pooling::kMean ? "mean" : "cls";
  j["hidden_activation"] = "gelu";
  j["classifier_activation"] = "gelu";
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["initializer_range"] = initializer_range;
  j["initializer_cutoff_factor"] = initializer_cutoff_factor;
  j["sparse_prediction"] = sparse_prediction;
  j["sparse_pred_ignore_index"] = sparse_pred_ignore_index;
  for (const char* d : {"attention_dropout", "embedding_dropout", "mlp_dropout",
                        "classifier_dropout"})
    j[d] = 0.0;
  if (!id2label.empty()) {
    json id2 = json::object(), l2id = json::object();
    for (size_t i = 0; i < id2label.size(); ++i) {
      id2[std::to_string(i)] = id2label[i];
      l2id[id2label[i]] = i;
    }
    j["id2label"] = id2;
    j["label2id"] = l2id;
  }
  return j;
}

}  // namespace mbert
