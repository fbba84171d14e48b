// Every metric of src/eval against scikit-learn / scipy / seqeval / pytrec_eval values written by
// tools/golden/make_metric_goldens.py (tests/data/metrics/metric_goldens.json). Tolerance: 1e-9
// relative (all are double computations of the same formulas; measured differences are at the
// 1e-16 level, e.g. scipy's spearmanr gives -0.9999999999999999 where the ranks are exactly
// anti-correlated).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/classification_metrics.h"
#include "eval/correlation.h"
#include "eval/ranking_metrics.h"
#include "eval/sequence_labeling.h"

namespace mbert::eval {
namespace {

using nlohmann::json;

const json& Goldens() {
  static const json g = [] {
    const char* d = std::getenv("MBERT_TESTDATA_DIR");
    std::ifstream f(std::string(d ? d : "tests/data") + "/metrics/metric_goldens.json");
    EXPECT_TRUE(f.is_open()) << "metric_goldens.json not found (MBERT_TESTDATA_DIR)";
    return json::parse(f);
  }();
  return g;
}

void ExpectClose(double got, const json& want, const std::string& what) {
  if (want.is_null()) {
    EXPECT_TRUE(std::isnan(got)) << what << ": expected nan, got " << got;
    return;
  }
  const double w = want.get<double>();
  EXPECT_LE(std::abs(got - w), 1e-9 * std::max(1.0, std::abs(w)))
      << what << ": " << got << " vs " << w;
}

TEST(MetricGoldens, Classification) {
  int n = 0;
  for (const json& c : Goldens()["classification"]) {
    const auto pred = c["pred"].get<std::vector<int64_t>>();
    const auto gold = c["gold"].get<std::vector<int64_t>>();
    const std::string name = c["name"];
    ExpectClose(Accuracy(pred, gold), c["accuracy"], name + " accuracy");
    ExpectClose(Matthews(pred, gold), c["matthews"], name + " matthews");
    if (c.contains("f1")) ExpectClose(BinaryF1(pred, gold), c["f1"], name + " f1");
    ++n;
  }
  EXPECT_GE(n, 8);
}

TEST(MetricGoldens, Regression) {
  int n = 0;
  for (const json& c : Goldens()["regression"]) {
    const auto x = c["x"].get<std::vector<double>>();
    const auto y = c["y"].get<std::vector<double>>();
    const std::string name = c["name"];
    ExpectClose(Pearson(x, y), c["pearson"], name + " pearson");
    ExpectClose(Spearman(x, y), c["spearman"], name + " spearman");
    const auto ranks = c["ranks_x"].get<std::vector<double>>();
    EXPECT_EQ(AverageRanks(x), ranks) << name;  // half-integers: exact
    ++n;
  }
  EXPECT_GE(n, 5);
}

TEST(MetricGoldens, Tagging) {
  for (const json& c : Goldens()["tagging"]) {
    const auto pred = c["pred"].get<std::vector<std::vector<std::string>>>();
    const auto gold = c["gold"].get<std::vector<std::vector<std::string>>>();
    const std::string name = c["name"];
    const EntityScores s = EntityF1(pred, gold);
    ExpectClose(s.f1, c["f1"], name + " f1");
    ExpectClose(s.precision, c["precision"], name + " precision");
    ExpectClose(s.recall, c["recall"], name + " recall");
    ExpectClose(TokenAccuracy(pred, gold), c["accuracy"], name + " accuracy");
    for (size_t k = 0; k < pred.size(); ++k) {
      std::vector<Entity> want;
      for (const json& e : c["pred_entities"][k])
        want.push_back({e[0].get<std::string>(), e[1].get<int64_t>(), e[2].get<int64_t>()});
      EXPECT_EQ(Entities(pred[k]), want) << name << " sentence " << k;
    }
  }
}

TEST(MetricGoldens, RankingAsPytrecEval) {
  const json& r = Goldens()["ranking"];
  Qrels qrels;
  for (const auto& [q, rels] : r["qrels"].items())
    for (const auto& [d, g] : rels.items()) qrels[q][d] = g.get<int64_t>();
  eval::Run run;
  for (const auto& [q, scores] : r["run"].items()) {
    run[q];  // empty runs stay present
    for (const auto& [d, s] : scores.items()) run[q][d] = s.get<double>();
  }
  const RunScores got = EvaluateRun(qrels, run);
  ASSERT_EQ(got.per_query.size(), r["per_query"].size());
  for (const auto& [q, want] : r["per_query"].items()) {
    ASSERT_TRUE(got.per_query.count(q)) << q;
    const QueryScores& s = got.per_query.at(q);
    ExpectClose(s.ndcg10, want["ndcg10"], q + " ndcg@10");
    ExpectClose(s.mrr10, want["mrr10"], q + " mrr@10");
    ExpectClose(s.recall100, want["recall100"], q + " recall@100");
  }
  ExpectClose(got.mean.ndcg10, r["mean"]["ndcg10"], "mean ndcg@10");
  ExpectClose(got.mean.mrr10, r["mean"]["mrr10"], "mean mrr@10");
  ExpectClose(got.mean.recall100, r["mean"]["recall100"], "mean recall@100");
}

TEST(Ranking, TiesGoByDocIdDescending) {
  // trec_eval's order: equal scores rank the larger id (strcmp) first.
  EXPECT_EQ(TrecOrder({{"a", 1.0}, {"b", 1.0}, {"c", 2.0}, {"10", 1.0}}),
            (std::vector<std::string>{"c", "b", "a", "10"}));
  EXPECT_DOUBLE_EQ(MrrAtK({{"a", 1.0}, {"b", 1.0}}, {{"a", 1}}, 10), 0.5);
  EXPECT_DOUBLE_EQ(MrrAtK({{"a", 1.0}, {"b", 1.0}}, {{"a", 1}}, 1), 0.0);
}

}  // namespace
}  // namespace mbert::eval
