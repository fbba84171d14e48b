#include "eval/ranking_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace mbert::eval {

namespace {

int64_t Grade(const std::map<std::string, int64_t>& rels, const std::string& doc) {
  const auto it = rels.find(doc);
  return it == rels.end() ? 0 : it->second;
}

}  // namespace

std::vector<std::string> TrecOrder(const std::map<std::string, double>& scores) {
  std::vector<std::pair<double, const std::string*>> v;
  v.reserve(scores.size());
  for (const auto& [doc, s] : scores) v.emplace_back(s, &doc);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return *a.second > *b.second;  // trec_eval: strcmp(docno2, docno1)
  });
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& [s, doc] : v) out.push_back(*doc);
  return out;
}

double NdcgAtK(const std::map<std::string, double>& scores,
               const std::map<std::string, int64_t>& rels, int k) {
  const std::vector<std::string> order = TrecOrder(scores);
  double dcg = 0;
  for (size_t i = 0; i < order.size() && i < static_cast<size_t>(k); ++i) {
    const int64_t g = Grade(rels, order[i]);
    if (g > 0) dcg += static_cast<double>(g) / std::log2(static_cast<double>(i) + 2.0);
  }
  std::vector<int64_t> ideal;
  for (const auto& [doc, g] : rels)
    if (g > 0) ideal.push_back(g);
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  double idcg = 0;
  for (size_t i = 0; i < ideal.size() && i < static_cast<size_t>(k); ++i)
    idcg += static_cast<double>(ideal[i]) / std::log2(static_cast<double>(i) + 2.0);
  return idcg > 0 ? dcg / idcg : 0.0;
}

double RecallAtK(const std::map<std::string, double>& scores,
                 const std::map<std::string, int64_t>& rels, int k) {
  int64_t num_rel = 0;
  for (const auto& [doc, g] : rels) num_rel += g >= 1;
  if (num_rel == 0) return 0.0;
  const std::vector<std::string> order = TrecOrder(scores);
  int64_t found = 0;
  for (size_t i = 0; i < order.size() && i < static_cast<size_t>(k); ++i)
    found += Grade(rels, order[i]) >= 1;
  return static_cast<double>(found) / static_cast<double>(num_rel);
}

double MrrAtK(const std::map<std::string, double>& scores,
              const std::map<std::string, int64_t>& rels, int k) {
  const std::vector<std::string> order = TrecOrder(scores);
  for (size_t i = 0; i < order.size() && i < static_cast<size_t>(k); ++i)
    if (Grade(rels, order[i]) >= 1) return 1.0 / static_cast<double>(i + 1);
  return 0.0;
}

RunScores EvaluateRun(const Qrels& qrels, const Run& run) {
  RunScores out;
  for (const auto& [qid, scores] : run) {
    const auto it = qrels.find(qid);
    if (it == qrels.end()) continue;
    QueryScores q;
    q.ndcg10 = NdcgAtK(scores, it->second, 10);
    q.mrr10 = MrrAtK(scores, it->second, 10);
    q.recall100 = RecallAtK(scores, it->second, 100);
    out.per_query[qid] = q;
  }
  if (out.per_query.empty()) return out;
  for (const auto& [qid, q] : out.per_query) {
    out.mean.ndcg10 += q.ndcg10;
    out.mean.mrr10 += q.mrr10;
    out.mean.recall100 += q.recall100;
  }
  const double n = static_cast<double>(out.per_query.size());
  out.mean.ndcg10 /= n;
  out.mean.mrr10 /= n;
  out.mean.recall100 /= n;
  return out;
}

}  // namespace mbert::eval
