// config.json parsing: v4 and v5 field names, defaults, layer plan and clear errors.
#include "model/config.h"
#include "model/plan.h"
#include "test_util.h"

namespace mbert {
namespace {

using nlohmann::json;

ModelConfig Parse(const json& j) {
  auto c = ModelConfig::FromJson(j, "config.json");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? c.value() : ModelConfig{};
}

std::string Error(const json& j) {
  auto c = ModelConfig::FromJson(j, "config.json");
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.status().message();
}

TEST(Config, RealModernBertLargeConfig) {
  const char* shared = std::getenv("MBERT_SHARED_DIR");
  auto c = ModelConfig::FromFile(std::string(shared ? shared : "../shared") +
                                 "/data/modernbert-large/config.json");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->hidden_size, 1024);
  EXPECT_EQ(c->num_hidden_layers, 28);
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_EQ(c->intermediate_size, 2624);
  EXPECT_EQ(c->half_window(), 64);
  EXPECT_EQ(c->classifier_pooling, Pooling::kMean);
  EXPECT_EQ(c->architecture, Architecture::kMaskedLM);
  auto plan = BuildLayerPlan(c.value());
  for (int i = 0; i < 28; ++i) {
    EXPECT_EQ(plan[i].global, i % 3 == 0) << i;
    EXPECT_EQ(plan[i].rope_theta, i % 3 == 0 ? 160000.0 : 10000.0) << i;
    EXPECT_EQ(plan[i].window, i % 3 == 0 ? -1 : 64) << i;
    EXPECT_EQ(plan[i].has_attn_norm, i != 0) << i;
  }
}

TEST(Config, V5RopeParametersAndLayerTypes) {
  json j = {{"architectures", {"ModernBertModel"}},
            {"hidden_size", 64},
            {"num_attention_heads", 4},
            {"num_hidden_layers", 3},
            {"intermediate_size", 37},
            {"vocab_size", 100},
            {"pad_token_id", 0},
            {"layer_types", {"sliding_attention", "full_attention", "sliding_attention"}},
            {"rope_parameters",
             {{"full_attention", {{"rope_type", "default"}, {"rope_theta", 5000.0}}},
              {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 77.0}}}}}};
  ModelConfig c = Parse(j);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.layer_is_global, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(c.global_rope_theta, 5000.0);
  EXPECT_EQ(c.local_rope_theta, 77.0);
  EXPECT_EQ(c.architecture, Architecture::kModel);
}

TEST(Config, V4NamesAndEveryNLayers) {
  json j = {{"hidden_size", 32}, {"num_attention_heads", 2}, {"num_hidden_layers", 5},
            {"vocab_size", 100}, {"pad_token_id", 1},       {"global_attn_every_n_layers", 2},
            {"global_rope_theta", 1234.0}, {"local_rope_theta", 99.0}, {"layer_norm_eps", 1e-6},
            {"local_attention", 10}};
  ModelConfig c = Parse(j);
  EXPECT_EQ(c.layer_is_global, (std::vector<bool>{true, false, true, false, true}));
  EXPECT_EQ(c.global_rope_theta, 1234.0);
  EXPECT_EQ(c.local_rope_theta, 99.0);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-6);
  EXPECT_EQ(c.half_window(), 5);
}

TEST(Config, LabelsFromId2Label) {
  json j = {{"architectures", {"ModernBertForSequenceClassification"}},
            {"vocab_size", 100}, {"pad_token_id", 0},
            {"id2label", {{"1", "pos"}, {"0", "neg"}}}};
  ModelConfig c = Parse(j);
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"neg", "pos"}));
}

TEST(Config, ClearErrors) {
  const json base = {{"vocab_size", 100}, {"pad_token_id", 0}};
  json j = base;
  j["architectures"] = {"BertForMaskedLM"};
  EXPECT_NE(Error(j).find("architecture 'BertForMaskedLM' is not supported"), std::string::npos);
  j = base;
  j["hidden_activation"] = "swish";
  EXPECT_NE(Error(j).find("hidden_activation 'swish'"), std::string::npos);
  j = base;
  j["hidden_size"] = 100;
  j["num_attention_heads"] = 3;
  EXPECT_NE(Error(j).find("not divisible"), std::string::npos);
  j = base;
  j["hidden_size"] = "big";
  EXPECT_NE(Error(j).find("field 'hidden_size' must be an integer"), std::string::npos);
  j = base;
  j["classifier_pooling"] = "max";
  EXPECT_NE(Error(j).find("classifier_pooling"), std::string::npos);
  j = base;
  j["layer_types"] = {"full_attention"};
  EXPECT_NE(Error(j).find("layer_types"), std::string::npos);
  j = base;
  j["model_type"] = "bert";
  EXPECT_NE(Error(j).find("model_type 'bert'"), std::string::npos);
}

TEST(Config, ToJsonRoundTrips) {
  json j = {{"architectures", {"ModernBertForTokenClassification"}},
            {"hidden_size", 32}, {"num_attention_heads", 2}, {"num_hidden_layers", 4},
            {"vocab_size", 100}, {"pad_token_id", 1}, {"id2label", {{"0", "O"}, {"1", "B-PER"}}}};
  ModelConfig a = Parse(j);
  ModelConfig b = Parse(a.ToJson());
  EXPECT_EQ(b.architecture, a.architecture);
  EXPECT_EQ(b.layer_is_global, a.layer_is_global);
  EXPECT_EQ(b.id2label, a.id2label);
  EXPECT_EQ(b.hidden_size, a.hidden_size);
}

}  // namespace
}  // namespace mbert
