// Damaged or absurd model directories: config.json values out of range, safetensors with
// duplicate or overlapping tensors or tensors nothing uses, sentence-transformers files with the
// wrong types or paths leaving the model directory.
#include <chrono>
#include <cstring>

#include "core/file_io.h"
#include "core/safetensors.h"
#include "core/warn.h"
#include "hardening_util.h"
#include "model/config.h"
#include "model/encoder.h"
#include "model/sentence_embedder.h"
#include "model/weights.h"

namespace mbert::hardening {
namespace {

using nlohmann::json;

json TinyJson() {
  return {{"architectures", {"ModernBertForMaskedLM"}},
          {"hidden_size", 16},
          {"num_attention_heads", 2},
          {"num_hidden_layers", 2},
          {"intermediate_size", 5},
          {"vocab_size", 50},
          {"pad_token_id", 0},
          {"local_attention", 4}};
}

Result<ModelConfig> With(const std::string& key, const json& value) {
  json j = TinyJson();
  j[key] = value;
  return ModelConfig::FromJson(j, "config.json");
}

TEST(ModelConfigRanges, AbsurdValuesNameFieldAndRange) {
  // Before: 4294967300 was read through get<int>() as 4 layers.
  EXPECT_TRUE(FailsWith(With("num_hidden_layers", 4294967300LL),
                        {"config.json: field 'num_hidden_layers' must be an integer in [1, 1024]",
                         "got 4294967300"}));
  // Before: accepted; every rotation ~0, positions silently ignored.
  EXPECT_TRUE(FailsWith(With("global_rope_theta", 1e300), {"field 'global_rope_theta'", "1e+10"}));
  EXPECT_TRUE(FailsWith(With("local_rope_theta", 0.5), {"field 'local_rope_theta'"}));
  json j = TinyJson();
  j["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}, {"rope_theta", -3}}}};
  EXPECT_TRUE(FailsWith(ModelConfig::FromJson(j, "config.json"),
                        {"field 'rope_parameters.full_attention.rope_theta'"}));
  EXPECT_TRUE(FailsWith(With("norm_eps", 5.0), {"field 'norm_eps'", "(0, 1]"}));
  EXPECT_TRUE(FailsWith(With("vocab_size", 1LL << 40), {"field 'vocab_size'"}));
  EXPECT_TRUE(FailsWith(With("hidden_size", -16), {"field 'hidden_size'"}));
  // Before: 2 * sliding_window overflowed int.
  EXPECT_TRUE(FailsWith(With("sliding_window", 2000000000), {"field 'sliding_window'"}));
  EXPECT_TRUE(FailsWith(With("pad_token_id", 4294967296LL), {"field 'pad_token_id'"}));
  EXPECT_TRUE(FailsWith(With("global_attn_every_n_layers", 0), {"global_attn_every_n_layers"}));
  EXPECT_TRUE(FailsWith(With("initializer_range", "0.02"), {"field 'initializer_range'"}));
  // Sizes that each pass but together make an unallocatable model.
  j = TinyJson();
  j["hidden_size"] = 65536;
  j["num_attention_heads"] = 1024;
  j["num_hidden_layers"] = 1024;
  EXPECT_TRUE(FailsWith(ModelConfig::FromJson(j, "config.json"), {"billion parameters"}));
}

TEST(ModelConfigRanges, HugeNumLabelsFailsFast) {
  // Before: 2e9 label strings were built (50 s, 8 GB) and then bad_alloc.
  json j = TinyJson();
  j["architectures"] = {"ModernBertForSequenceClassification"};
  j["num_labels"] = 2000000000;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(FailsWith(ModelConfig::FromJson(j, "config.json"),
                        {"field 'num_labels' must be an integer in [0, 1048576]"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  j.erase("num_labels");
  j["id2label"] = {{"0", "a"}, {"00", "b"}};  // two keys, one index
  EXPECT_TRUE(FailsWith(ModelConfig::FromJson(j, "config.json"), {"id2label"}));
}

// A safetensors file from a header and a data region of `data_bytes` zero bytes.
std::string Safetensors(const json& header, size_t data_bytes) {
  const std::string h = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((h.size() >> (8 * i)) & 0xff);
  return out + h + std::string(data_bytes, '\0');
}

TEST(SafetensorsIntegrity, DuplicateTensorNamesAreAnError) {
  // nlohmann keeps the last of two equal keys: before, the first entry silently vanished.
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(h.size());
  bytes += h + std::string(12, '\0');
  auto f = SafetensorsFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                  "dup.safetensors");
  EXPECT_TRUE(FailsWith(f, {"dup.safetensors", "tensor 'a' is listed twice"}));
}

TEST(SafetensorsIntegrity, OverlappingTensorsAreAnError) {
  const json h = {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                  {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8, 16}}}}};
  const std::string bytes = Safetensors(h, 16);
  auto f = SafetensorsFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                  "overlap.safetensors");
  EXPECT_TRUE(FailsWith(f, {"overlap.safetensors", "'a' and 'b' overlap"}));
  // Adjacent tensors and empty tensors anywhere are fine.
  const json ok = {{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
                   {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8, 16}}}},
                   {"e", {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {4, 4}}}}};
  const std::string good = Safetensors(ok, 16);
  EXPECT_TRUE(SafetensorsFile::Parse(reinterpret_cast<const uint8_t*>(good.data()), good.size(),
                                     "ok.safetensors")
                  .ok());
}

std::string CopyModel(const std::string& from, const std::string& name) {
  const std::string dir = ScratchDir(name);
  fs::copy(from, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return dir;
}

TEST(SafetensorsIntegrity, UnusedCheckpointTensorsAreNamedInAWarning) {
  const std::string dir = CopyModel(TestDataDir() + "/tiny-mlm", "unused");
  // The same weights plus one tensor no parameter reads (e.g. a 5th layer the config lacks).
  auto f = SafetensorsFile::Open(dir + "/model.safetensors");
  ASSERT_TRUE(f.ok()) << f.status().message();
  std::vector<Tensor> keep;
  keep.reserve(f->tensors().size() + 1);
  std::vector<TensorToWrite> out;
  for (const TensorView& v : f->tensors()) {
    keep.emplace_back(v.shape);
    ASSERT_TRUE(ConvertToFloat(v, keep.back().data(), "x").ok());
    out.push_back({v.name, &keep.back(), DType::kF32});
  }
  keep.emplace_back(std::vector<int64_t>{3});
  out.push_back({"model.layers.99.mlp.Wo.weight", &keep.back(), DType::kF32});
  ASSERT_TRUE(WriteSafetensors(dir + "/model.safetensors.new", out).ok());
  fs::rename(dir + "/model.safetensors.new", dir + "/model.safetensors");
  std::vector<std::string> warnings;
  auto prev = SetWarningHandler([&](const std::string& w) { warnings.push_back(w); });
  auto m = Encoder::Load(dir);
  SetWarningHandler(prev);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("1 checkpoint tensor is not used"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("model.layers.99.mlp.Wo.weight"), std::string::npos) << warnings[0];
  // The shipped model has no unused tensor: no warning.
  warnings.clear();
  prev = SetWarningHandler([&](const std::string& w) { warnings.push_back(w); });
  EXPECT_TRUE(Encoder::Load(TestDataDir() + "/tiny-mlm").ok());
  SetWarningHandler(prev);
  EXPECT_TRUE(warnings.empty()) << warnings[0];
}

TEST(SafetensorsIntegrity, TensorInTwoShardsIsAnError) {
  const std::string dir = CopyModel(TestDataDir() + "/tiny-mlm", "twoshards");
  fs::rename(dir + "/model.safetensors", dir + "/a.safetensors");
  fs::copy_file(dir + "/a.safetensors", dir + "/b.safetensors");
  auto f = SafetensorsFile::Open(dir + "/a.safetensors");
  ASSERT_TRUE(f.ok());
  json map = json::object();
  bool first = true;
  for (const TensorView& v : f->tensors()) {
    map[v.name] = first ? "b.safetensors" : "a.safetensors";
    first = false;
  }
  WriteText(dir + "/model.safetensors.index.json", json{{"weight_map", map}}.dump());
  EXPECT_TRUE(FailsWith(Encoder::Load(dir), {"is stored twice", "a.safetensors", "b.safetensors"}));
}

TEST(SentenceTransformers, ModulesJsonTypesAndPathsAreChecked) {
  const std::string dir = CopyModel(TestDataDir() + "/tiny-st", "st");
  auto cfg = ModelConfig::FromFile(dir + "/config.json");
  ASSERT_TRUE(cfg.ok());
  ASSERT_TRUE(SentenceEmbedder::Load(dir, cfg.value()).ok());
  const std::string modules = dir + "/modules.json";
  const json original = json::parse(ReadText(modules));
  // Before: a number as path threw nlohmann::type_error out of the library (abort).
  json j = original;
  j[1]["path"] = 5;
  WriteText(modules, j.dump());
  EXPECT_TRUE(FailsWith(SentenceEmbedder::Load(dir, cfg.value()),
                        {modules, "field '[1].path' must be a string", "got 5"}));
  // Before: followed out of the model directory.
  for (const char* escape : {"../../etc", "/etc", "1_Pooling/../../x"}) {
    j = original;
    j[1]["path"] = escape;
    WriteText(modules, j.dump());
    EXPECT_TRUE(FailsWith(SentenceEmbedder::Load(dir, cfg.value()),
                          {"field '[1].path' must be a folder inside the model directory"}))
        << escape;
  }
  j = original;
  j[2] = 7;
  WriteText(modules, j.dump());
  EXPECT_TRUE(FailsWith(SentenceEmbedder::Load(dir, cfg.value()), {"must be a JSON object"}));
  WriteText(modules, original.dump());
  // Dense config: wrong types and absurd sizes.
  const std::string dense = dir + "/2_Dense/config.json";
  const json dense_original = json::parse(ReadText(dense));
  json d = dense_original;
  d["out_features"] = "32";
  WriteText(dense, d.dump());
  EXPECT_TRUE(FailsWith(SentenceEmbedder::Load(dir, cfg.value()), {dense, "'out_features'"}));
  d = dense_original;
  d["in_features"] = 1LL << 40;
  WriteText(dense, d.dump());
  EXPECT_TRUE(FailsWith(SentenceEmbedder::Load(dir, cfg.value()), {"'in_features'"}));
  d = dense_original;
  d["bias"] = "yes";
  WriteText(dense, d.dump());
  EXPECT_TRUE(
      FailsWith(SentenceEmbedder::Load(dir, cfg.value()), {"'bias' must be true or false"}));
}

}  // namespace
}  // namespace mbert::hardening
