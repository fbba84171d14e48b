// The training loop end to end on a tiny model: loss falls on a small corpus, checkpoints load in
// the model loader, and resuming from a checkpoint reproduces the uninterrupted run bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/safetensors.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;
using train_testing::ReadPrefix;
using train_testing::SharedDir;

TrainConfig TinyConfig(const std::string& out, int64_t steps) {
  const std::string dir = (fs::temp_directory_path() / "mbert_trainer_corpus").string();
  fs::create_directories(dir);
  // A small, repetitive corpus: ~200 short documents from Moby Dick's opening paragraphs.
  std::ifstream in(SharedDir() + "/data/corpora/moby-dick.txt");
  std::ofstream corpus(dir + "/corpus.txt");
  std::string line;
  for (int n = 0; n < 1200 && std::getline(in, line); ++n) corpus << line << "\n";
  corpus.close();
  nlohmann::json j = {
      {"output_dir", out},
      {"model",
       {{"hidden_size", 32},
        {"intermediate_size", 48},
        {"num_hidden_layers", 3},
        {"num_attention_heads", 2},
        {"local_attention", 16},
        {"vocab_size", 50368}}},
      {"tokenizer", SharedDir() + "/data/modernbert-base"},
      {"data", {{"train", {dir + "/corpus.txt"}}, {"max_seq_len", 128}, {"eval_every", 20}}},
      {"seed", 5},
      {"row_tokens", 256},
      {"rows", 2},
      {"batch_size_warmup", {{"min_rows", 1}, {"tokens", 1000}}},
      {"optimizer", {{"lr", 3e-3}, {"weight_decay", 1e-5}}},
      {"schedule", {{"unit", "steps"}, {"warmup", 2}, {"decay", 4}}},
      {"max_steps", steps},
      {"eval_every", 0},
      {"eval_batches", 2}};
  auto c = TrainConfig::FromJson(j, "test", "/");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.value();
}

TEST(Trainer, ResumeReproducesUninterruptedRunBitForBit) {
  const std::string a = (fs::temp_directory_path() / "mbert_resume_a").string();
  const std::string b = (fs::temp_directory_path() / "mbert_resume_b").string();
  fs::remove_all(a);
  fs::remove_all(b);
  // Uninterrupted: 8 steps.
  auto ta = Trainer::Create(TinyConfig(a, 8), false);
  ASSERT_TRUE(ta.ok()) << ta.status().message();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(ta.value()->Step().ok());
  // Interrupted: 3 steps, checkpoint, a fresh trainer resumes and runs to 8.
  {
    auto tb = Trainer::Create(TinyConfig(b, 8), false);
    ASSERT_TRUE(tb.ok()) << tb.status().message();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(tb.value()->Step().ok());
    ASSERT_TRUE(tb.value()->SaveCheckpoint().ok());
  }
  auto tc = Trainer::Create(TinyConfig(b, 8), /*resume=*/true);
  ASSERT_TRUE(tc.ok()) << tc.status().message();
  EXPECT_EQ(tc.value()->step(), 3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(tc.value()->Step().ok());
  EXPECT_EQ(tc.value()->tokens_seen(), ta.value()->tokens_seen());
  const TensorTable& pa = ta.value()->model().params();
  const TensorTable& pc = tc.value()->model().params();
  ASSERT_EQ(pa.size(), pc.size());
  for (const auto& [name, t] : pa) {
    const Tensor& u = pc.at(name);
    ASSERT_EQ(t.numel(), u.numel());
    EXPECT_EQ(0, std::memcmp(t.data(), u.data(), sizeof(float) * t.numel())) << name;
  }
}

TEST(Trainer, LossFallsAndCheckpointLoads) {
  const std::string out = (fs::temp_directory_path() / "mbert_train_loss").string();
  fs::remove_all(out);
  auto t = Trainer::Create(TinyConfig(out, 30), false);
  ASSERT_TRUE(t.ok()) << t.status().message();
  double first = 0.0, last = 0.0;
  for (int i = 0; i < 30; ++i) {
    auto m = t.value()->Step();
    ASSERT_TRUE(m.ok()) << m.status().message();
    if (i < 3) first += m->loss / 3;
    if (i >= 27) last += m->loss / 3;
  }
  EXPECT_LT(last, first - 1.0) << "MLM loss did not fall: " << first << " -> " << last;
  ASSERT_TRUE(t.value()->SaveCheckpoint().ok());
  std::ifstream latest(out + "/latest");
  std::string name;
  latest >> name;
  EXPECT_EQ(name, "checkpoint-30");
  auto m = Encoder::Load(out + "/" + name);
  ASSERT_TRUE(m.ok()) << m.status().message();
  for (const auto& [n, p] : t.value()->model().params())
    EXPECT_EQ(0, std::memcmp(p.data(), m->param(n).data(), sizeof(float) * p.numel())) << n;
  EXPECT_FALSE(fs::exists(out + "/.checkpoint-30.tmp"));
}

TEST(Trainer, PreTokenizedShardsAreDocuments) {
  const std::string out = (fs::temp_directory_path() / "mbert_train_shard").string();
  fs::remove_all(out);
  fs::create_directories(out);
  // 60 documents of 20..79 ids: [CLS] body [SEP].
  std::vector<int32_t> ids, cu{0};
  for (int d = 0; d < 60; ++d) {
    ids.push_back(50281);
    for (int t = 0; t < 18 + d; ++t) ids.push_back(1000 + (d * 31 + t * 7) % 20000);
    ids.push_back(50282);
    cu.push_back(static_cast<int32_t>(ids.size()));
  }
  ASSERT_TRUE(
      WriteInt32Safetensors(out + "/shard.safetensors", {{"input_ids", ids}, {"cu_seqlens", cu}})
          .ok());
  TrainConfig c = TinyConfig(out + "/run", 8);
  c.data.files = {out + "/shard.safetensors"};
  c.data.eval_every = 10;
  auto t = Trainer::Create(c, false);
  ASSERT_TRUE(t.ok()) << t.status().message();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.value()->Step().ok());
  EXPECT_GT(t.value()->tokens_seen(), 0);
  // A shard with an id outside the vocabulary is rejected with a clear error.
  ids[5] = 60000;
  ASSERT_TRUE(
      WriteInt32Safetensors(out + "/bad.safetensors", {{"input_ids", ids}, {"cu_seqlens", cu}})
          .ok());
  c.data.files = {out + "/bad.safetensors"};
  auto bad = Trainer::Create(c, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("outside the tokenizer's vocabulary"), std::string::npos)
      << bad.status().message();
}

TEST(Trainer, BadConfigNamesTheField) {
  nlohmann::json j = {{"output_dir", "x"}, {"model", {{"hidden_size", 32}}}, {"lr_typo", 1}};
  auto c = TrainConfig::FromJson(j, "train.json", "/");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unknown field 'lr_typo'"), std::string::npos);
  j = {{"output_dir", "x"}};
  c = TrainConfig::FromJson(j, "train.json", "/");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("init_from"), std::string::npos);
}

}  // namespace
}  // namespace mbert
