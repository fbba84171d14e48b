// The recipe's phases as committed configs (configs/builtin/phase{1,2,3}-*.json and
// configs/large-from-base.json), each run end to end at tiny scale: the configs are read from the
// repository as they are, then only sizes shrink (model width, sequence length, steps) and paths
// move to a temporary directory. What each phase must do is asserted on the result:
//   phase 1: a fresh model with global RoPE theta 10k, constant LR after warmup;
//   phase 2: starts from phase 1's newest checkpoint (its exact weights), theta 160k, longer
//            sequences, constant LR;
//   phase 3: starts from phase 2, 1-sqrt decay down to alpha_f x peak at the last step;
//   large-from-base: a wider, deeper model whose weights are phase 1's, centre-tiled.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/file_io.h"
#include "corpus/prepare.h"
#include "train/trainer.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Env(const char* name, const char* fallback) {
  const char* d = std::getenv(name);
  return fs::absolute(d ? d : fallback).lexically_normal().string();
}
std::string SharedDir() { return Env("MBERT_SHARED_DIR", "../shared"); }
std::string SourceDir() { return Env("MBERT_SOURCE_DIR", "."); }

class PhaseConfigs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("mbert_phase_configs_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "src");
    std::ifstream in(SharedDir() + "/data/corpora/moby-dick.txt", std::ios::binary);
    std::string text(60000, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    std::ofstream(root_ / "src/moby.txt") << text;
    corpus::PrepareOptions o;
    o.tokenizer = SharedDir() + "/data/modernbert-base";
    o.sources = {{"moby", (root_ / "src/moby.txt").string(), {}}};
    o.out_dir = (root_ / "corpus").string();
    o.val_fraction = 0.05;
    o.max_seq_len = 128;
    auto m = corpus::PrepareCorpus(o);
    ASSERT_TRUE(m.ok()) << m.status().message();
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // The committed config, shrunk: what it says about the phase (init, overrides, schedule shape,
  // RoPE, optimizer) stays; sizes and paths change.
  static TrainConfig Shrunk(const std::string& file, const std::string& out,
                            const std::string& init_from, int64_t seq_len, int64_t steps) {
    const std::string path = SourceDir() + "/configs/" + file;
    auto j = ReadJsonFile(path);
    EXPECT_TRUE(j.ok()) << j.status().message();
    json c = j.value();
    c["output_dir"] = (root_ / out).string();
    if (c.contains("init_from")) c["init_from"] = (root_ / init_from).string();
    if (c.contains("tile_from")) c["tile_from"] = (root_ / init_from).string();
    if (c.contains("model")) {
      json& m = c["model"];
      const bool wide = m["hidden_size"].get<int>() > 512;  // the large config: stays larger
      m["hidden_size"] = wide ? 48 : 32;
      m["intermediate_size"] = wide ? 64 : 48;
      m["num_hidden_layers"] = wide ? 4 : 3;
      m["num_attention_heads"] = 2;
      m["local_attention"] = 16;
      m["max_position_embeddings"] = 512;
    }
    c["data"]["corpus"] = (root_ / "corpus").string();
    c["data"].erase("mixture");
    c["data"]["max_seq_len"] = seq_len;
    c["row_tokens"] = 2 * seq_len;
    c["rows"] = 2;
    c.erase("batch_size_warmup");
    c["max_steps"] = steps;
    json& s = c["schedule"];
    if (s.value("unit", "tokens") == "tokens") {
      s["unit"] = "steps";
      s.erase("total");
    }
    s["warmup"] = std::min<int64_t>(s.value("warmup", int64_t{0}), 1);
    if (s.value("decay", int64_t{0}) > 0) s["decay"] = steps - s["warmup"].get<int64_t>();
    c["eval_every"] = 0;
    c["eval_batches"] = 1;
    c["checkpoint_every"] = 0;
    auto tc = TrainConfig::FromJson(c, path, fs::path(path).parent_path().string());
    EXPECT_TRUE(tc.ok()) << tc.status().message();
    return tc.value();
  }

  static std::vector<double> RunPhase(const TrainConfig& c) {
    auto t = Trainer::Create(c, false);
    EXPECT_TRUE(t.ok()) << t.status().message();
    std::vector<double> lrs;
    if (!t.ok()) return lrs;
    for (int64_t i = 0; i < c.max_steps; ++i) {
      auto m = t.value()->Step();
      EXPECT_TRUE(m.ok()) << m.status().message();
      if (!m.ok()) return lrs;
      lrs.push_back(m->lr);
    }
    EXPECT_TRUE(t.value()->SaveCheckpoint().ok());
    return lrs;
  }

  static fs::path root_;
};

fs::path PhaseConfigs::root_;

TEST_F(PhaseConfigs, PreTrainThenExtendContextThenDecayThenTileLarger) {
  // Phase 1.
  const TrainConfig p1 = Shrunk("builtin/phase1-pretrain-1024.json", "p1", "", 64, 4);
  EXPECT_EQ(p1.model_config["global_rope_theta"].get<double>(), 10000.0);
  const std::vector<double> lr1 = RunPhase(p1);
  ASSERT_EQ(lr1.size(), 4u);
  EXPECT_EQ(lr1[2], lr1[3]) << "phase 1 is warmup + constant";
  EXPECT_DOUBLE_EQ(lr1[3], p1.lr);

  // Phase 2: from phase 1's output directory (its `latest`), theta raised, 4x the length.
  const TrainConfig p2 = Shrunk("builtin/phase2-context-extension-8192.json", "p2", "p1", 256, 3);
  EXPECT_GT(p2.data.max_seq_len, p1.data.max_seq_len);
  EXPECT_LT(p2.lr, p1.lr);
  {
    auto t = Trainer::Create(p2, false);
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t.value()->model().config().global_rope_theta, 160000.0);
    EXPECT_EQ(t.value()->model().config().local_rope_theta, 10000.0);
    auto before = Encoder::Load((root_ / "p1/checkpoint-4").string());
    ASSERT_TRUE(before.ok()) << before.status().message();
    for (const auto& [name, p] : before->params())
      EXPECT_EQ(0, std::memcmp(p.data(), t.value()->model().params().at(name).data(),
                               sizeof(float) * p.numel()))
          << "phase 2 must start from phase 1's weights: " << name;
  }
  const std::vector<double> lr2 = RunPhase(p2);
  ASSERT_EQ(lr2.size(), 3u);
  EXPECT_DOUBLE_EQ(lr2.back(), p2.lr);
  auto saved2 = ReadJsonFile((root_ / "p2/checkpoint-3/config.json").string());
  ASSERT_TRUE(saved2.ok());
  EXPECT_EQ(saved2.value()["global_rope_theta"].get<double>(), 160000.0);

  // Phase 3: 1-sqrt decay from phase 2's weights, keeping theta 160k.
  const TrainConfig p3 = Shrunk("builtin/phase3-decay-8192.json", "p3", "p2", 256, 4);
  const std::vector<double> lr3 = RunPhase(p3);
  ASSERT_EQ(lr3.size(), 4u);
  for (size_t i = 2; i < lr3.size(); ++i) EXPECT_LT(lr3[i], lr3[i - 1]) << i;
  EXPECT_LT(lr3.back(), 0.5 * p3.lr);
  auto saved3 = ReadJsonFile((root_ / "p3/checkpoint-4/config.json").string());
  ASSERT_TRUE(saved3.ok());
  EXPECT_EQ(saved3.value()["global_rope_theta"].get<double>(), 160000.0);

  // Large from base: phase 1's model centre-tiled into a wider and deeper one.
  const TrainConfig large = Shrunk("large-from-base.json", "large", "p1/checkpoint-4", 64, 2);
  auto tl = Trainer::Create(large, false);
  ASSERT_TRUE(tl.ok()) << tl.status().message();
  auto small = Encoder::Load((root_ / "p1/checkpoint-4").string());
  ASSERT_TRUE(small.ok());
  const Tensor& se = small->params().at("model.embeddings.tok_embeddings.weight");
  const Tensor& le = tl.value()->model().params().at("model.embeddings.tok_embeddings.weight");
  const int64_t cs = se.shape()[1], cl = le.shape()[1], off = (cl - cs) / 2;
  ASSERT_EQ(cl, 48);
  for (int64_t r = 0; r < se.shape()[0]; r += 997)
    for (int64_t j = 0; j < cl; ++j)
      ASSERT_EQ(le.data()[r * cl + j], se.data()[r * cs + ((j - off) % cs + cs) % cs])
          << "row " << r << " col " << j;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(tl.value()->Step().ok());
}

TEST_F(PhaseConfigs, OverridesThatChangeShapesAreRefused) {
  TrainConfig p1 = Shrunk("builtin/phase1-pretrain-1024.json", "q1", "", 64, 1);
  RunPhase(p1);
  TrainConfig p2 = Shrunk("builtin/phase2-context-extension-8192.json", "q2", "q1", 128, 1);
  p2.model_overrides["hidden_size"] = 64;
  auto t = Trainer::Create(p2, false);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("model_overrides"), std::string::npos)
      << t.status().message();
}

}  // namespace
}  // namespace mbert
