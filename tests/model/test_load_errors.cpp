// Loading a model directory with something wrong gives an error naming the file/tensor and what
// was expected; bad inputs to the forward (ids out of range, empty) are errors, not crashes.
#include <filesystem>
#include <fstream>

#include "core/dtype.h"
#include "core/file_io.h"
#include "model/encoder.h"
#include "model/weights.h"
#include "test_util.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;

ModelConfig TinyConfig() {
  nlohmann::json j = {{"architectures", {"ModernBertForMaskedLM"}},
                      {"hidden_size", 16},
                      {"num_attention_heads", 2},
                      {"num_hidden_layers", 2},
                      {"intermediate_size", 5},
                      {"vocab_size", 50},
                      {"pad_token_id", 0},
                      {"local_attention", 4}};
  return ModelConfig::FromJson(j, "config.json").value();
}

TensorTable TinyParams(const ModelConfig& c) {
  TensorTable t;
  uint32_t s = 1;
  for (const ParamSpec& p : ExpectedParams(c)) {
    Tensor x(p.shape);
    for (int64_t i = 0; i < x.numel(); ++i) {
      s = s * 1664525u + 1013904223u;
      x.data()[i] = static_cast<float>((s >> 9) % 1000) / 1000.0f - 0.5f;
    }
    t.emplace(p.name, std::move(x));
  }
  return t;
}

std::string WriteModel(const std::string& name, const ModelConfig& c, const TensorTable& t) {
  const std::string dir = (fs::temp_directory_path() / ("mbert_load_" + name)).string();
  fs::remove_all(dir);
  EXPECT_TRUE(SaveWeights(dir, c, t).ok());
  EXPECT_TRUE(WriteFileAtomic(dir + "/config.json", c.ToJson().dump(2)).ok());
  return dir;
}

TEST(LoadErrors, SaveThenLoadRoundTrips) {
  ModelConfig c = TinyConfig();
  const std::string dir = WriteModel("ok", c, TinyParams(c));
  auto m = Encoder::Load(dir);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->num_parameters(), 50 * 16 + 16 +
                                     (3 * 16 * 16 + 16 * 16 + 16 + 10 * 16 + 16 * 5) * 2 + 16 +
                                     16 * 16 + 16 + 50 + 16);
}

TEST(LoadErrors, SavesInBf16OrF32Only) {
  ModelConfig c = TinyConfig();
  const TensorTable params = TinyParams(c);
  const std::string dir = (fs::temp_directory_path() / "mbert_load_bf16").string();
  fs::remove_all(dir);
  ASSERT_TRUE(SaveWeights(dir, c, params, DType::kBF16).ok());
  auto loaded = LoadWeights(dir, c);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  int64_t changed = 0;
  for (const auto& [name, x] : params) {
    const Tensor& y = loaded->at(name);
    for (int64_t i = 0; i < x.numel(); ++i) {
      ASSERT_EQ(y.data()[i], Bf16ToFloat(FloatToBf16(x.data()[i]))) << name << "[" << i << "]";
      changed += y.data()[i] != x.data()[i];
    }
  }
  EXPECT_GT(changed, 100);
  const Status f16 = SaveWeights(dir, c, params, DType::kF16);
  ASSERT_FALSE(f16.ok());
  EXPECT_NE(f16.message().find("F16"), std::string::npos) << f16.message();
}

TEST(LoadErrors, MissingDirectoryAndFiles) {
  auto m = Encoder::Load("/nonexistent/model");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("/nonexistent/model/config.json"), std::string::npos);

  ModelConfig c = TinyConfig();
  const std::string dir = WriteModel("noweights", c, TinyParams(c));
  fs::remove(dir + "/model.safetensors");
  m = Encoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("no model.safetensors"), std::string::npos)
      << m.status().message();
}

TEST(LoadErrors, MissingTensorNamesIt) {
  ModelConfig c = TinyConfig();
  TensorTable t = TinyParams(c);
  ModelConfig smaller = c;
  smaller.architecture = Architecture::kModel;  // saves without head/decoder tensors
  smaller.architecture_name = "ModernBertModel";
  const std::string dir = WriteModel("missing", smaller, t);
  EXPECT_TRUE(WriteFileAtomic(dir + "/config.json", c.ToJson().dump()).ok());
  auto m = Encoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("missing tensor 'head.dense.weight'"), std::string::npos)
      << m.status().message();
}

TEST(LoadErrors, MisShapedTensorSaysExpectedAndFound) {
  ModelConfig c = TinyConfig();
  const std::string dir = WriteModel("shape", c, TinyParams(c));
  nlohmann::json j = c.ToJson();
  j["intermediate_size"] = 6;  // checkpoint has 5
  EXPECT_TRUE(WriteFileAtomic(dir + "/config.json", j.dump()).ok());
  auto m = Encoder::Load(dir);
  ASSERT_FALSE(m.ok());
  const std::string& msg = m.status().message();
  EXPECT_NE(msg.find("model.layers.0.mlp.Wi.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[10, 16]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected [12, 16]"), std::string::npos) << msg;
}

TEST(LoadErrors, TruncatedSafetensors) {
  ModelConfig c = TinyConfig();
  const std::string dir = WriteModel("trunc", c, TinyParams(c));
  const auto size = fs::file_size(dir + "/model.safetensors");
  fs::resize_file(dir + "/model.safetensors", size / 2);
  auto m = Encoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("model.safetensors"), std::string::npos);
  EXPECT_NE(m.status().message().find("truncated"), std::string::npos) << m.status().message();
}

TEST(LoadErrors, BadInputsToForward) {
  ModelConfig c = TinyConfig();
  auto m = Encoder::FromParams(c, TinyParams(c));
  ASSERT_TRUE(m.ok());
  std::vector<float> h;
  ForwardContext ctx;
  Status st = m->Forward(PackedBatch::FromSequences({{1, 2, 50}}), ctx, &h);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("token id 50"), std::string::npos) << st.message();
  st = m->Forward(PackedBatch::FromSequences({}), ctx, &h);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("empty"), std::string::npos) << st.message();
  EXPECT_TRUE(m->Forward(PackedBatch::FromSequences({{1, 2, 49}}), ctx, &h).ok());
}

}  // namespace
}  // namespace mbert
