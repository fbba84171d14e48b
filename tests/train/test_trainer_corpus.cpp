// Pre-training from a prepared corpus (data.corpus): the trainer reads shards through the mixture
// sampler, evaluates each source's val split separately, resumes at the exact next sequence (bit
// for bit), and refuses a checkpoint whose corpus, mixture or tokenizer changed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "corpus/prepare.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;
using train_testing::ReadPrefix;
using train_testing::SharedDir;
using json = nlohmann::json;

void Write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

// Two sources (Moby Dick and Shakespeare prefixes) prepared into short sequences, with a val split.
class TrainerCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("mbert_trainer_corpus_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    Write(root_ / "src/moby.txt", ReadPrefix(SharedDir() + "/data/corpora/moby-dick.txt", 40000));
    Write(root_ / "src/bard.txt",
          ReadPrefix(SharedDir() + "/data/corpora/tinyshakespeare.txt", 40000));
    corpus::PrepareOptions o;
    o.tokenizer = SharedDir() + "/data/modernbert-base";
    o.sources = {{"moby", (root_ / "src/moby.txt").string(), {}},
                 {"bard", (root_ / "src/bard.txt").string(), {}}};
    o.out_dir = (root_ / "corpus").string();
    o.seed = 3;
    o.val_fraction = 0.1;
    o.max_seq_len = 96;
    auto m = corpus::PrepareCorpus(o);
    ASSERT_TRUE(m.ok()) << m.status().message();
    Write(root_ / "mix.json",
          R"({"sources": [{"name": "moby", "weight": 1}, {"name": "bard", "weight": 2}]})");
  }
  void TearDown() override { fs::remove_all(root_); }

  json ConfigJson(const std::string& out, int64_t steps) const {
    return {{"output_dir", (root_ / out).string()},
            {"model",
             {{"hidden_size", 32},
              {"intermediate_size", 48},
              {"num_hidden_layers", 3},
              {"num_attention_heads", 2},
              {"local_attention", 16},
              {"vocab_size", 50368}}},
            {"tokenizer", SharedDir() + "/data/modernbert-base"},
            {"data",
             {{"corpus", (root_ / "corpus").string()},
              {"mixture", (root_ / "mix.json").string()},
              {"max_seq_len", 64}}},
            {"seed", 5},
            {"row_tokens", 256},
            {"rows", 2},
            {"batch_size_warmup", {{"min_rows", 1}, {"tokens", 600}}},
            {"optimizer", {{"lr", 3e-3}}},
            {"schedule", {{"unit", "steps"}, {"warmup", 1}, {"decay", 2}}},
            {"max_steps", steps},
            {"eval_every", 0},
            {"eval_batches", 2}};
  }
  TrainConfig Config(const json& j) const {
    auto c = TrainConfig::FromJson(j, "test", "/");
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.value();
  }

  fs::path root_;
};

TEST_F(TrainerCorpus, ResumeReproducesUninterruptedRunBitForBit) {
  auto ta = Trainer::Create(Config(ConfigJson("a", 8)), false);
  ASSERT_TRUE(ta.ok()) << ta.status().message();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(ta.value()->Step().ok());
  {
    auto tb = Trainer::Create(Config(ConfigJson("b", 8)), false);
    ASSERT_TRUE(tb.ok()) << tb.status().message();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(tb.value()->Step().ok());
    ASSERT_TRUE(tb.value()->SaveCheckpoint().ok());
  }
  auto tc = Trainer::Create(Config(ConfigJson("b", 8)), /*resume=*/true);
  ASSERT_TRUE(tc.ok()) << tc.status().message();
  ASSERT_EQ(tc.value()->step(), 3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(tc.value()->Step().ok());
  EXPECT_EQ(tc.value()->tokens_seen(), ta.value()->tokens_seen());
  for (const auto& [name, t] : ta.value()->model().params()) {
    const Tensor& u = tc.value()->model().params().at(name);
    EXPECT_EQ(0, std::memcmp(t.data(), u.data(), sizeof(float) * t.numel())) << name;
  }
}

TEST_F(TrainerCorpus, SameSeedSameRunOtherSeedOtherRun) {
  auto run = [&](uint64_t seed) {
    json j = ConfigJson(seed == 5 ? "s5" : "s6", 4);
    j["seed"] = seed;
    auto t = Trainer::Create(Config(j), false);
    EXPECT_TRUE(t.ok()) << t.status().message();
    if (!t.ok()) return std::vector<double>{};
    std::vector<double> losses;
    for (int i = 0; i < 3; ++i) losses.push_back(t.value()->Step().value().loss);
    return losses;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST_F(TrainerCorpus, EvaluatesEachSourceOnItsValSplit) {
  auto t = Trainer::Create(Config(ConfigJson("e", 4)), false);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto em = t.value()->Evaluate();
  ASSERT_TRUE(em.ok()) << em.status().message();
  ASSERT_EQ(em->per_source.size(), 2u);
  int64_t predicted = 0;
  double loss = 0.0;
  for (const char* s : {"moby", "bard"}) {
    ASSERT_TRUE(em->per_source.count(s)) << s;
    const MlmScore& m = em->per_source.at(s);
    EXPECT_GT(m.predicted, 0) << s;
    EXPECT_GT(m.loss, 5.0) << s;  // an untrained model over 50k ids: about ln(50368) = 10.8
    // The baseline: always the source's most frequent token (',' or 'the'-like ids win a few
    // percent), and its smoothed unigram cross-entropy well below the uniform ln(50368).
    EXPECT_GT(m.unigram_accuracy, 0.0) << s;
    EXPECT_LT(m.unigram_accuracy, 0.5) << s;
    EXPECT_GT(m.unigram_loss, 2.0) << s;
    EXPECT_LT(m.unigram_loss, std::log(50368.0)) << s;
    predicted += m.predicted;
    loss += m.loss * static_cast<double>(m.predicted);
  }
  EXPECT_EQ(em->predicted, predicted);
  EXPECT_NEAR(em->loss, loss / static_cast<double>(predicted), 1e-9);
}

TEST_F(TrainerCorpus, ResumeRefusesAChangedMixture) {
  {
    auto t = Trainer::Create(Config(ConfigJson("m", 4)), false);
    ASSERT_TRUE(t.ok()) << t.status().message();
    ASSERT_TRUE(t.value()->Step().ok());
    ASSERT_TRUE(t.value()->SaveCheckpoint().ok());
  }
  Write(root_ / "mix.json",
        R"({"sources": [{"name": "moby", "weight": 1}, {"name": "bard", "weight": 3}]})");
  auto t = Trainer::Create(Config(ConfigJson("m", 4)), /*resume=*/true);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("source 'bard' has weight 3"), std::string::npos)
      << t.status().message();
  EXPECT_NE(t.status().message().find("allow_data_change"), std::string::npos);
}

TEST_F(TrainerCorpus, RefusesAnotherTokenizerAndAmbiguousData) {
  // Same vocabulary, other bytes: the corpus's ids are only trusted for the exact tokenizer.json.
  std::ifstream in(SharedDir() + "/data/modernbert-base/tokenizer.json", std::ios::binary);
  std::string tok((std::istreambuf_iterator<char>(in)), {});
  Write(root_ / "tok/tokenizer.json", tok + "\n");
  json j = ConfigJson("t", 4);
  j["tokenizer"] = (root_ / "tok").string();
  auto t = Trainer::Create(Config(j), false);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("data.corpus"), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find("tokenizer"), std::string::npos);

  j = ConfigJson("t", 4);
  j["data"]["train"] = {(root_ / "src/moby.txt").string()};
  auto c = TrainConfig::FromJson(j, "train.json", "/");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("or data.corpus is required, and not both"),
            std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace mbert
