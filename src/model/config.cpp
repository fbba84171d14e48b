#include "model/config.h"

#include <cmath>
#include <limits>

#include "core/file_io.h"
#include "core/json_fields.h"

namespace mbert {

namespace {

using json = nlohmann::json;

// Bounds on config.json sizes, checked before anything is allocated from them. Far above every
// released ModernBERT (vocab 50368, hidden 1024, 28 layers, 8192 positions) and any plausible
// variant, far below what would exhaust memory before a weight file could say otherwise.
constexpr int64_t kMaxVocab = int64_t{1} << 22;
constexpr int64_t kMaxHidden = int64_t{1} << 16;
constexpr int64_t kMaxIntermediate = int64_t{1} << 18;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxPositionsInConfig = int64_t{1} << 20;
constexpr int64_t kMaxLabels = int64_t{1} << 20;
// The whole model, 2^34 fp32 values = 64 GiB: a fresh model (training) is allocated from the
// config alone, so its size must be bounded before Tensor() is called.
constexpr double kMaxParameters = static_cast<double>(int64_t{1} << 34);
// RoPE theta: frequencies theta^(-2i/D) fall only for theta > 1; ModernBERT uses 1e4 and 1.6e5,
// long-context models up to ~1e7. Beyond 1e10 every rotation is ~0: silently no position signal.
constexpr double kMaxRopeTheta = 1e10;

constexpr int64_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kI32Max = std::numeric_limits<int32_t>::max();

Status ParseRopeParameters(const JsonFields& f, ModelConfig* c) {
  MBERT_ASSIGN_OR_RETURN(JsonFields rp, f.Object("rope_parameters"));
  auto read = [&](const char* kind, double* theta) -> Status {
    if (!rp.Has(kind)) return Status::Ok();
    MBERT_ASSIGN_OR_RETURN(JsonFields r, rp.Object(kind));
    std::string type = "default";
    MBERT_RETURN_IF_ERROR(r.String("rope_type", &type));
    if (type != "default")
      return r.Error("rope_type", "'" + type +
                                      "' is not supported (only \"default\" RoPE, as ModernBERT "
                                      "uses)");
    return r.Number("rope_theta", theta, 1.0, kMaxRopeTheta, /*lo_open=*/true);
  };
  MBERT_RETURN_IF_ERROR(read("full_attention", &c->global_rope_theta));
  MBERT_RETURN_IF_ERROR(read("sliding_attention", &c->local_rope_theta));
  return Status::Ok();
}

double ParameterCount(const ModelConfig& c) {
  const double C = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
  const double V = static_cast<double>(c.vocab_size);
  return 2 * V * C + c.num_hidden_layers * (4 * C * C + 3 * I * C + 8 * C) +
         static_cast<double>(c.id2label.size()) * C + C * C;
}

}  // namespace

const char* ArchitectureName(Architecture a) {
  switch (a) {
    case Architecture::kModel:
      return "ModernBertModel";
    case Architecture::kMaskedLM:
      return "ModernBertForMaskedLM";
    case Architecture::kSequenceClassification:
      return "ModernBertForSequenceClassification";
    case Architecture::kTokenClassification:
      return "ModernBertForTokenClassification";
  }
  return "?";
}

Result<ModelConfig> ModelConfig::FromFile(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
  return FromJson(j, path);
}

Result<ModelConfig> ModelConfig::FromJson(const json& j, const std::string& origin) {
  if (!j.is_object()) return Status::Error(origin + ": config must be a JSON object");
  MBERT_ASSIGN_OR_RETURN(const JsonFields f, JsonFields::Of(j, origin));
  ModelConfig c;

  std::string model_type;
  MBERT_RETURN_IF_ERROR(f.String("model_type", &model_type));
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
    if (name == "ModernBertModel")
      c.architecture = Architecture::kModel;
    else if (name == "ModernBertForMaskedLM")
      c.architecture = Architecture::kMaskedLM;
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

  MBERT_RETURN_IF_ERROR(f.Int("vocab_size", &c.vocab_size, 1, kMaxVocab));
  MBERT_RETURN_IF_ERROR(f.Int("hidden_size", &c.hidden_size, 1, kMaxHidden));
  MBERT_RETURN_IF_ERROR(f.Int("intermediate_size", &c.intermediate_size, 1, kMaxIntermediate));
  MBERT_RETURN_IF_ERROR(f.Int("num_hidden_layers", &c.num_hidden_layers, 1, kMaxLayers));
  MBERT_RETURN_IF_ERROR(f.Int("num_attention_heads", &c.num_attention_heads, 1, kMaxHidden));
  MBERT_RETURN_IF_ERROR(
      f.Int("max_position_embeddings", &c.max_position_embeddings, 1, kMaxPositionsInConfig));
  // transformers 4.x wrote both names; norm_eps wins when both are present (it is the field the
  // model reads), layer_norm_eps is the legacy alias. Above 1 the epsilon swamps the variance.
  MBERT_RETURN_IF_ERROR(f.Number("layer_norm_eps", &c.norm_eps, 0.0, 1.0, /*lo_open=*/true));
  MBERT_RETURN_IF_ERROR(f.Number("norm_eps", &c.norm_eps, 0.0, 1.0, /*lo_open=*/true));
  MBERT_RETURN_IF_ERROR(f.Int("pad_token_id", &c.pad_token_id, kI32Min, kI32Max));
  // The other special ids are the tokenizer's business; they only need to be int32.
  MBERT_RETURN_IF_ERROR(f.Int("bos_token_id", &c.bos_token_id, kI32Min, kI32Max));
  MBERT_RETURN_IF_ERROR(f.Int("eos_token_id", &c.eos_token_id, kI32Min, kI32Max));
  MBERT_RETURN_IF_ERROR(f.Int("cls_token_id", &c.cls_token_id, kI32Min, kI32Max));
  MBERT_RETURN_IF_ERROR(f.Int("sep_token_id", &c.sep_token_id, kI32Min, kI32Max));
  MBERT_RETURN_IF_ERROR(
      f.Number("global_rope_theta", &c.global_rope_theta, 1.0, kMaxRopeTheta, /*lo_open=*/true));
  MBERT_RETURN_IF_ERROR(
      f.Number("local_rope_theta", &c.local_rope_theta, 1.0, kMaxRopeTheta, /*lo_open=*/true));
  if (f.Has("rope_parameters")) MBERT_RETURN_IF_ERROR(ParseRopeParameters(f, &c));
  if (f.Has("rope_scaling")) {
    return Status::Error(origin +
                         ": 'rope_scaling' is set; scaled RoPE is not supported "
                         "(ModernBERT uses plain RoPE; remove the field)");
  }
  // The window is a length in tokens: more than twice the longest sequence means nothing.
  const int64_t max_window = 2 * kMaxPositionsInConfig;
  MBERT_RETURN_IF_ERROR(f.Int("local_attention", &c.local_attention, 0, max_window));
  if (f.Has("sliding_window")) {
    int64_t sw = 0;  // v5 property: sliding_window = local_attention / 2
    MBERT_RETURN_IF_ERROR(f.Int("sliding_window", &sw, 0, max_window / 2));
    c.local_attention = static_cast<int>(2 * sw);
  }
  MBERT_RETURN_IF_ERROR(f.Bool("attention_bias", &c.attention_bias));
  MBERT_RETURN_IF_ERROR(f.Bool("mlp_bias", &c.mlp_bias));
  MBERT_RETURN_IF_ERROR(f.Bool("decoder_bias", &c.decoder_bias));
  MBERT_RETURN_IF_ERROR(f.Bool("classifier_bias", &c.classifier_bias));
  MBERT_RETURN_IF_ERROR(f.Bool("tie_word_embeddings", &c.tie_word_embeddings));
  MBERT_RETURN_IF_ERROR(f.Number("initializer_range", &c.initializer_range, 0.0, 1.0));
  MBERT_RETURN_IF_ERROR(
      f.Number("initializer_cutoff_factor", &c.initializer_cutoff_factor, 0.0, 100.0));
  MBERT_RETURN_IF_ERROR(f.Number("attention_dropout", &c.attention_dropout, 0.0, 1.0));
  MBERT_RETURN_IF_ERROR(f.Number("embedding_dropout", &c.embedding_dropout, 0.0, 1.0));
  MBERT_RETURN_IF_ERROR(f.Number("mlp_dropout", &c.mlp_dropout, 0.0, 1.0));
  MBERT_RETURN_IF_ERROR(f.Number("classifier_dropout", &c.classifier_dropout, 0.0, 1.0));
  MBERT_RETURN_IF_ERROR(f.Bool("sparse_prediction", &c.sparse_prediction));
  MBERT_RETURN_IF_ERROR(
      f.Int("sparse_pred_ignore_index", &c.sparse_pred_ignore_index, kI32Min, kI32Max));

  bool norm_bias = false;
  MBERT_RETURN_IF_ERROR(f.Bool("norm_bias", &norm_bias));
  if (norm_bias) {
    return Status::Error(origin +
                         ": norm_bias=true is not supported (ModernBERT's LayerNorms "
                         "have no bias)");
  }
  for (const char* key : {"hidden_activation", "classifier_activation"}) {
    std::string act = "gelu";
    MBERT_RETURN_IF_ERROR(f.String(key, &act));
    if (act != "gelu") {
      return Status::Error(origin + ": " + key + " '" + act +
                           "' is not supported; ModernBERT uses \"gelu\" (exact erf GELU)");
    }
  }
  std::string pooling = "cls";
  MBERT_RETURN_IF_ERROR(f.String("classifier_pooling", &pooling));
  if (pooling == "cls")
    c.classifier_pooling = Pooling::kCls;
  else if (pooling == "mean")
    c.classifier_pooling = Pooling::kMean;
  else
    return Status::Error(origin + ": classifier_pooling '" + pooling +
                         "' must be \"cls\" or \"mean\"");

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
  if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size) {
    return Status::Error(origin + ": pad_token_id " + std::to_string(c.pad_token_id) +
                         " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  }

  // Layer types: v5 list, else every n-th layer is global.
  c.layer_is_global.assign(static_cast<size_t>(c.num_hidden_layers), false);
  if (auto lt = j.find("layer_types"); lt != j.end() && !lt->is_null()) {
    if (!lt->is_array() || static_cast<int64_t>(lt->size()) != c.num_hidden_layers) {
      return Status::Error(origin + ": 'layer_types' must list one type per layer (" +
                           std::to_string(c.num_hidden_layers) + ")");
    }
    for (int i = 0; i < c.num_hidden_layers; ++i) {
      const json& t = (*lt)[static_cast<size_t>(i)];
      const std::string s = t.is_string() ? t.get<std::string>() : t.dump();
      if (s == "full_attention")
        c.layer_is_global[static_cast<size_t>(i)] = true;
      else if (s != "sliding_attention")
        return Status::Error(origin + ": layer_types[" + std::to_string(i) + "] = '" + s +
                             "'; expected \"full_attention\" or \"sliding_attention\"");
    }
  } else {
    int every = 3;
    MBERT_RETURN_IF_ERROR(f.Int("global_attn_every_n_layers", &every, 1, kMaxLayers));
    for (int i = 0; i < c.num_hidden_layers; ++i)
      c.layer_is_global[static_cast<size_t>(i)] = (i % every == 0);
  }

  // Labels: bounded before the list is built (num_labels 2000000000 must not allocate 2e9
  // strings first).
  if (auto id2 = j.find("id2label"); id2 != j.end() && id2->is_object() && !id2->empty()) {
    if (static_cast<int64_t>(id2->size()) > kMaxLabels)
      return Status::Error(origin + ": id2label has " + std::to_string(id2->size()) +
                           " labels, more than the " + std::to_string(kMaxLabels) + " allowed");
    c.id2label.assign(id2->size(), "");
    std::vector<bool> seen(id2->size(), false);
    for (auto it = id2->begin(); it != id2->end(); ++it) {
      size_t pos = 0;
      long idx = -1;
      try {
        idx = std::stol(it.key(), &pos);
      } catch (...) {
        pos = 0;
      }
      if (pos != it.key().size() || idx < 0 || idx >= static_cast<long>(id2->size()) ||
          seen[static_cast<size_t>(idx)] || !it.value().is_string()) {
        return Status::Error(origin + ": id2label must map \"0\".." +
                             std::to_string(id2->size() - 1) + " to label strings");
      }
      seen[static_cast<size_t>(idx)] = true;
      c.id2label[static_cast<size_t>(idx)] = it.value().get<std::string>();
    }
  } else if (f.Has("num_labels")) {
    int64_t n = 0;
    MBERT_RETURN_IF_ERROR(f.Int("num_labels", &n, 0, kMaxLabels));
    for (int64_t i = 0; i < n; ++i) c.id2label.push_back("LABEL_" + std::to_string(i));
  }
  const bool needs_labels = c.architecture == Architecture::kSequenceClassification ||
                            c.architecture == Architecture::kTokenClassification;
  if (needs_labels && c.id2label.empty()) {
    // transformers' PretrainedConfig default is two labels.
    c.id2label = {"LABEL_0", "LABEL_1"};
  }
  if (ParameterCount(c) > kMaxParameters) {
    return Status::Error(origin + ": these sizes make a model of about " +
                         std::to_string(static_cast<int64_t>(ParameterCount(c) / 1e9)) +
                         " billion parameters, more than the " +
                         std::to_string(static_cast<int64_t>(kMaxParameters / 1e9)) +
                         " billion mbert allows");
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
  j["attention_dropout"] = attention_dropout;
  j["embedding_dropout"] = embedding_dropout;
  j["mlp_dropout"] = mlp_dropout;
  j["classifier_dropout"] = classifier_dropout;
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
