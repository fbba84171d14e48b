// `mbert data prepare | info | show` as a user runs them, and `mbert train --eval-only` on the
// prepared corpus: show decodes held-out sequences back to the source's text; errors name the
// source or index at fault and exit non-zero.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_run.h"

namespace mbert::testing {
namespace {

namespace fs = std::filesystem;

std::string Shared() {
  const char* d = std::getenv("MBERT_SHARED_DIR");
  return d ? d : "../shared";
}

class CliData : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("mbert_cli_data_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    // Paragraphs that are easy to recognise after a round trip through the tokenizer.
    std::ofstream txt(root_ / "notes.txt");
    for (int i = 0; i < 40; ++i)
      txt << "Paragraph number " << i << " talks about whales and ships at sea.\n\n";
    txt.close();
    const CliResult r =
        RunMbert({"data", "prepare", "-q", "--tokenizer", Shared() + "/data/modernbert-base",
                  "--source", "notes=" + (root_ / "notes.txt").string(), "--out",
                  (root_ / "corpus").string(), "--val-fraction", "0.2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(CliData, ShowDecodesHeldOutText) {
  const CliResult info = RunMbert({"data", "info", (root_ / "corpus").string()});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("verified"), std::string::npos) << info.out;

  const CliResult r = RunMbert({"data", "show", (root_ / "corpus").string(), "--source", "notes",
                                "--tokenizer", Shared() + "/data/modernbert-base", "-n", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["source"], "notes");
    EXPECT_EQ(j["split"], "val");
    const std::string text = j["text"];
    EXPECT_EQ(text.rfind("Paragraph number ", 0), 0u) << text;
    EXPECT_NE(text.find(" talks about whales and ships at sea."), std::string::npos) << text;
    ++n;
  }
  EXPECT_GT(n, 0);
  EXPECT_LT(n, 40);  // only the held-out share
}

TEST_F(CliData, ShowErrorsNameTheFault) {
  CliResult r = RunMbert({"data", "show", (root_ / "corpus").string(), "--source", "whales",
                          "--tokenizer", Shared() + "/data/modernbert-base"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no source 'whales' (it has: notes)"), std::string::npos) << r.err;
  r = RunMbert({"data", "show", (root_ / "corpus").string(), "--source", "notes", "--tokenizer",
                Shared() + "/data/modernbert-base", "--index", "100000"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--index 100000"), std::string::npos) << r.err;
}

TEST_F(CliData, TrainEvalOnlyReportsSourceAndBaseline) {
  const nlohmann::json cfg = {
      {"output_dir", (root_ / "run").string()},
      {"model",
       {{"hidden_size", 32},
        {"intermediate_size", 48},
        {"num_hidden_layers", 3},
        {"num_attention_heads", 2},
        {"local_attention", 16},
        {"vocab_size", 50368}}},
      {"tokenizer", Shared() + "/data/modernbert-base"},
      {"data", {{"corpus", (root_ / "corpus").string()}, {"max_seq_len", 64}}},
      {"row_tokens", 128},
      {"rows", 1},
      {"schedule", {{"unit", "steps"}, {"warmup", 0}, {"decay", 0}}},
      {"max_steps", 1}};
  std::ofstream(root_ / "train.json") << cfg.dump();
  const CliResult r =
      RunMbert({"train", "--config", (root_ / "train.json").string(), "--eval-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["step"], 0);
  ASSERT_TRUE(j["per_source"].contains("notes")) << r.out;
  EXPECT_GT(j["per_source"]["notes"]["predicted"].get<int>(), 0);
  EXPECT_GT(j["per_source"]["notes"]["unigram_accuracy"].get<double>(), 0.0);
}

}  // namespace
}  // namespace mbert::testing
