// `mbert embed` and `mbert eval --task beir` on a ColBERT model made by `mbert finetune --task
// colbert`: token vectors per text (query: exactly --query-length, document: punctuation
// dropped), a pooled vector only with --pooling, MaxSim ranking equal to the fine-tuning's dev
// evaluation; a plain model's embed output is unchanged and refuses --colbert-role.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_run.h"

namespace mbert::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<json> Lines(const std::string& s) {
  std::vector<json> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
  return out;
}

// A 1-epoch ColBERT run on a 4-query BEIR set: its best/ directory and the run directory.
const std::string& ColbertRun() {
  static const std::string run = [] {
    const std::string d = ::testing::TempDir() + "/cli_colbert";
    fs::remove_all(d);
    fs::create_directories(d + "/beir/qrels");
    const char* docs[] = {"cats purr, and sleep.", "rockets fly to space!", "bread is baked",
                          "rivers flow to the sea"};
    const char* queries[] = {"what do cats do", "how do rockets travel", "where is bread made",
                             "where do rivers go"};
    std::ofstream c(d + "/beir/corpus.jsonl"), q(d + "/beir/queries.jsonl"),
        r(d + "/beir/qrels/dev.tsv");
    r << "query-id\tcorpus-id\tscore\n";
    for (int i = 0; i < 4; ++i) {
      const std::string n = std::to_string(i);
      c << json{{"_id", "d" + n}, {"title", ""}, {"text", docs[i]}}.dump() << "\n";
      q << json{{"_id", "q" + n}, {"text", queries[i]}}.dump() << "\n";
      r << "q" << n << "\td" << n << "\t1\n";
    }
    c.close();
    q.close();
    r.close();
    const CliResult f =
        RunMbert({"finetune",       "-q",      "--model",      TestDataDir() + "/tiny-mlm",
                  "--task",         "colbert", "--train",      d + "/beir",
                  "--train-split",  "dev",     "--dev",        d + "/beir",
                  "--dev-split",    "dev",     "--out",        d + "/run",
                  "--epochs",       "1",       "--batch-size", "2",
                  "--query-length", "8",       "--max-length", "32"});
    EXPECT_EQ(f.exit_code, 0) << f.err;
    return d;
  }();
  return run;
}

void ExpectUnitRows(const json& vectors) {
  for (const json& v : vectors) {
    ASSERT_EQ(v.size(), 128u);
    double n = 0.0;
    for (const json& x : v) n += x.get<double>() * x.get<double>();
    EXPECT_NEAR(std::sqrt(n), 1.0, 1e-5);
  }
}

TEST(CliColbert, EmbedPrintsTokenVectors) {
  const std::string best = ColbertRun() + "/run/best";
  // Default role: query, as PyLate's encode.
  CliResult r = RunMbert({"embed", "--model", best, "what do cats do", "where do rivers go"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> out = Lines(r.out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1]["index"], 1);
  EXPECT_EQ(out[1]["text"], "where do rivers go");
  EXPECT_FALSE(out[0].contains("embedding"));
  ASSERT_EQ(out[0]["vectors"].size(), 8u);  // the query length
  ExpectUnitRows(out[0]["vectors"]);
  const CliResult q = RunMbert({"embed", "--model", best, "--colbert-role", "query",
                                "what do cats do", "where do rivers go"});
  EXPECT_EQ(q.out, r.out);

  // A document: [CLS] [D] cats purr , and sleep . [SEP] less "," and ".".
  r = RunMbert({"embed", "--model", best, "--colbert-role", "document", "cats purr, and sleep."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  out = Lines(r.out);
  const CliResult tok = RunMbert({"tokenize", "--model", best, "cats purr, and sleep."});
  ASSERT_EQ(tok.exit_code, 0) << tok.err;
  const size_t with_specials = Lines(tok.out)[0]["ids"].size();  // [CLS] … [SEP]
  EXPECT_EQ(out[0]["vectors"].size(), with_specials + 1 - 2);    // + [D], − "," and "."
  ExpectUnitRows(out[0]["vectors"]);

  // A pooled vector only when asked; --dims does not apply.
  r = RunMbert({"embed", "--model", best, "--pooling", "mean", "cats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out)[0]["embedding"].size(), 64u);
  r = RunMbert({"embed", "--model", best, "--dims", "8", "cats"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--dims"), std::string::npos) << r.err;
  r = RunMbert({"embed", "--model", best, "--colbert-role", "passage", "cats"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(CliColbert, PlainModelUnchanged) {
  CliResult r = RunMbert({"embed", "--model", TestDataDir() + "/tiny-mlm", "cats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<json> out = Lines(r.out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 2u);  // index, embedding
  EXPECT_EQ(out[0]["embedding"].size(), 64u);
  r = RunMbert(
      {"embed", "--model", TestDataDir() + "/tiny-mlm", "--colbert-role", "query", "cats"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not a ColBERT"), std::string::npos) << r.err;
}

TEST(CliColbert, EvalBeirRanksByMaxSimAsTheDevEvaluation) {
  const std::string d = ColbertRun();
  const CliResult r = RunMbert({"eval", "--task", "beir", "--data", d + "/beir", "--split", "dev",
                                "--model", d + "/run/best"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["similarity"], "MaxSim");
  // best/ is the model of the best dev evaluation in metrics.jsonl: the same numbers.
  std::ifstream in(d + "/run/metrics.jsonl");
  json best;
  for (std::string l; std::getline(in, l);) {
    const json m = json::parse(l);
    if (m.value("best", false)) best = m["eval"];
  }
  ASSERT_FALSE(best.is_null());
  for (const char* k : {"ndcg@10", "mrr@10", "recall@100"})
    EXPECT_EQ(j["metrics"][k].get<double>(), best[k].get<double>()) << k;
}

}  // namespace
}  // namespace mbert::testing
