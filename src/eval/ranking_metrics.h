// Retrieval metrics exactly as trec_eval 9 (through pytrec_eval) defines them:
//   - a query's run is ordered by score descending, ties by document id descending (strcmp, as
//     trec_eval's form_res_rels sorts), whatever order it was given in;
//   - nDCG@k (ndcg_cut_k): gain = the qrels grade (grades <= 0 give 0), discount log2(rank + 1);
//     the ideal DCG sorts every positive grade in the query's qrels; 0 when there is none;
//   - Recall@k (recall_k): relevant (grade >= 1) documents in the top k / relevant in the qrels;
//   - MRR@k: trec_eval's recip_rank on the run cut to its top k: 1 / rank of the first relevant
//     document, 0 when none is in the top k (MS MARCO's MRR@10).
// EvaluateRun averages like pytrec_eval and BEIR do: over the queries that are in both the qrels
// and the run (a run entry may be empty: it scores 0); a run query without qrels, or a qrels
// query without a run entry, is not counted. Exact search (exact_search.h) gives every query an
// entry, so the mean is over all qrels queries.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "data/beir.h"

namespace mbert::eval {

using data::Qrels;
// query id -> (doc id -> score), as pytrec_eval takes it.
using Run = std::map<std::string, std::map<std::string, double>>;

// Document ids of one query's run in trec_eval's order.
std::vector<std::string> TrecOrder(const std::map<std::string, double>& scores);

double NdcgAtK(const std::map<std::string, double>& scores,
               const std::map<std::string, int64_t>& rels, int k);
double RecallAtK(const std::map<std::string, double>& scores,
                 const std::map<std::string, int64_t>& rels, int k);
double MrrAtK(const std::map<std::string, double>& scores,
              const std::map<std::string, int64_t>& rels, int k);

struct QueryScores {
  double ndcg10 = 0, mrr10 = 0, recall100 = 0;
};
struct RunScores {
  std::map<std::string, QueryScores> per_query;
  QueryScores mean;  // over per_query
};
RunScores EvaluateRun(const Qrels& qrels, const Run& run);

}  // namespace mbert::eval
