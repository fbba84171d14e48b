// `mbert eval` end to end: BM25 on SciFact against the Python run of the same formula
// (scripts/eval/bm25_reference.py with pytrec_eval, quoted in docs/evaluation.md), the majority
// baseline on GLUE against label counts taken with awk from the files, and its errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_run.h"

namespace mbert::testing {
namespace {

std::string Shared() {
  const char* d = std::getenv("MBERT_SHARED_DIR");
  return std::string(d ? d : "../shared") + "/data";
}

TEST(CliEval, Bm25SciFactEqualsThePythonReference) {
  const CliResult r = RunMbert({"eval", "--task", "beir", "--data", Shared() + "/beir-scifact",
                                "--split", "test", "--retriever", "bm25"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["queries"], 300);
  EXPECT_EQ(j["metrics"]["queries_evaluated"], 300);
  // Python, same tokens and Lucene formula in double, metrics by pytrec_eval.
  EXPECT_NEAR(j["metrics"]["ndcg@10"].get<double>(), 0.6616270720940276, 1e-9);
  EXPECT_NEAR(j["metrics"]["mrr@10"].get<double>(), 0.6305198412698413, 1e-9);
  EXPECT_NEAR(j["metrics"]["recall@100"].get<double>(), 0.8852222222222222, 1e-9);
}

TEST(CliEval, MajorityBaselineOnGlue) {
  // RTE train: 1,078 entailment vs 1,049 not_entailment; dev: 146 entailment of 277.
  CliResult r = RunMbert({"eval", "--task", "rte", "--data", Shared() + "/glue", "--split", "dev",
                          "--baseline", "majority"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["predicted_label"], "entailment");
  EXPECT_DOUBLE_EQ(j["metrics"]["accuracy"].get<double>(), 146.0 / 277.0);
  // CoLA train: 5,088 of 7,250 acceptable; dev: 721 of 1,043. One predicted class: MCC 0.
  r = RunMbert({"eval", "--task", "cola", "--data", Shared() + "/glue", "--split", "dev",
                "--baseline", "majority"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["metrics"]["accuracy"].get<double>(), 721.0 / 1043.0);
  EXPECT_EQ(j["metrics"]["matthews"].get<double>(), 0.0);
}

TEST(CliEval, ErrorsNameTheFix) {
  CliResult r = RunMbert({"eval", "--task", "qqp", "--data", Shared() + "/glue", "--split", "dev",
                          "--baseline", "majority"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown GLUE task 'qqp'"), std::string::npos) << r.err;
  r = RunMbert({"eval", "--task", "rte", "--data", Shared() + "/glue", "--split", "dev", "--model",
                TestDataDir() + "/tiny-seqcls-mean"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the model has 3 labels, RTE needs 2"), std::string::npos) << r.err;
  r = RunMbert({"eval", "--task", "beir", "--data", Shared() + "/beir-scifact", "--split", "test",
                "--retriever", "splade"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("expected dense or bm25"), std::string::npos) << r.err;
}

TEST(CliEval, DenseRetrievalRunsOnATinyModel) {
  // A random tiny model: only that the whole path (embed corpus and queries, exact search,
  // metrics) runs and reports every query; its scores mean nothing. 32 tokens per text keep it
  // short under the sanitizers.
  const CliResult r =
      RunMbert({"eval", "--task", "beir", "--data", Shared() + "/beir-scifact", "--split", "test",
                "--model", TestDataDir() + "/tiny-mlm", "--truncate", "--max-length", "32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["metrics"]["queries_evaluated"], 300);
  EXPECT_GE(j["metrics"]["ndcg@10"].get<double>(), 0.0);
}

}  // namespace
}  // namespace mbert::testing
