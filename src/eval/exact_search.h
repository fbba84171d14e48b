// Exact (brute-force) nearest-neighbour search for retrieval evaluation: every query is scored
// against every document, so the metrics measure the model and not an index.
//   DenseTopK    single-vector (DPR): dot product or cosine between query and document
//                embeddings, one GEMM per (query block x corpus block); memory is bounded by the
//                blocks (scores query_block x corpus_block floats, plus a normalised copy of
//                one corpus block for cosine), never Q x N.
//   MaxSimTopK   multi-vector (ColBERT): score(q, d) = sum over query tokens of the maximum dot
//                product with d's tokens; documents are taken in blocks of at most block_tokens
//                tokens, one GEMM each.
// Hits come best first: score descending, ties by document index ascending. Scores are fp32 as
// the GEMM computes them (oneDNN, so they can differ from a double dot product in the last
// bits); `AsRun` turns hits into a Run for EvaluateRun.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/ranking_metrics.h"

namespace mbert::eval {

struct Hit {
  int64_t doc = 0;
  double score = 0;  // fp32 from the GEMM for dense and MaxSim search, double for BM25
};

enum class Similarity { kDot, kCosine };

// queries (Q, D) and corpus (N, D), row-major. k is capped at N.
std::vector<std::vector<Hit>> DenseTopK(const float* queries, int64_t num_queries,
                                        const float* corpus, int64_t num_docs, int64_t dim, int k,
                                        Similarity sim, int64_t block_rows = 4096);

// One query's token vectors (Lq, D); all documents' token vectors one after another (T, D), with
// doc_offsets (N + 1) delimiting them (every document needs at least one token).
std::vector<Hit> MaxSimTopK(const float* query_tokens, int64_t query_len, const float* doc_tokens,
                            const std::vector<int64_t>& doc_offsets, int64_t dim, int k,
                            int64_t block_tokens = 16384);

// Hits of query i under query_ids[i], documents named by doc_ids.
Run AsRun(const std::vector<std::vector<Hit>>& hits, const std::vector<std::string>& query_ids,
          const std::vector<std::string>& doc_ids);

}  // namespace mbert::eval
