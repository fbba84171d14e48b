#include "eval/exact_search.h"

#include <algorithm>
#include <cmath>
#include <queue>

#include "core/check.h"
#include "ops/cpu/gemm.h"

namespace mbert::eval {

namespace {

// Ordering of hits: a is better than b.
bool Better(const Hit& a, const Hit& b) {
  return a.score != b.score ? a.score > b.score : a.doc < b.doc;
}

// Keeps the k best hits seen; the worst of them on top of the heap.
class TopK {
 public:
  explicit TopK(int k) : k_(static_cast<size_t>(k)) {}
  void Push(const Hit& h) {
    if (heap_.size() < k_) {
      heap_.push(h);
    } else if (Better(h, heap_.top())) {
      heap_.pop();
      heap_.push(h);
    }
  }
  std::vector<Hit> Sorted() {
    std::vector<Hit> out;
    while (!heap_.empty()) {
      out.push_back(heap_.top());
      heap_.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  struct WorseOnTop {
    bool operator()(const Hit& a, const Hit& b) const { return Better(a, b); }
  };
  size_t k_;
  std::priority_queue<Hit, std::vector<Hit>, WorseOnTop> heap_;
};

void NormalizeRows(const float* in, int64_t rows, int64_t dim, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < dim; ++j) ss += static_cast<double>(in[r * dim + j]) * in[r * dim + j];
    // A zero vector stays zero (cosine 0 with everything), as sentence-transformers' normalize
    // (x / max(||x||, eps)) gives.
    const float inv = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.0f;
    for (int64_t j = 0; j < dim; ++j) out[r * dim + j] = in[r * dim + j] * inv;
  }
}

}  // namespace

std::vector<std::vector<Hit>> DenseTopK(const float* queries, int64_t num_queries,
                                        const float* corpus, int64_t num_docs, int64_t dim, int k,
                                        Similarity sim, int64_t block_rows) {
  MBERT_CHECK(num_queries >= 0 && num_docs >= 0 && dim > 0 && k >= 0 && block_rows > 0, "Q ",
              num_queries, " N ", num_docs, " D ", dim, " k ", k, " block ", block_rows);
  k = static_cast<int>(std::min<int64_t>(k, num_docs));
  std::vector<TopK> tops(static_cast<size_t>(num_queries), TopK(k));
  if (k == 0 || num_queries == 0) return std::vector<std::vector<Hit>>(num_queries);
  const int64_t qblock = std::min<int64_t>(num_queries, 1024);
  std::vector<float> qnorm, dnorm, scores(static_cast<size_t>(qblock * block_rows));
  if (sim == Similarity::kCosine) {
    qnorm.resize(static_cast<size_t>(num_queries * dim));
    NormalizeRows(queries, num_queries, dim, qnorm.data());
    queries = qnorm.data();
    dnorm.resize(static_cast<size_t>(std::min(block_rows, num_docs) * dim));
  }
  for (int64_t d0 = 0; d0 < num_docs; d0 += block_rows) {
    const int64_t nd = std::min(block_rows, num_docs - d0);
    const float* block = corpus + d0 * dim;
    if (sim == Similarity::kCosine) {
      NormalizeRows(block, nd, dim, dnorm.data());
      block = dnorm.data();
    }
    for (int64_t q0 = 0; q0 < num_queries; q0 += qblock) {
      const int64_t nq = std::min(qblock, num_queries - q0);
      // scores (nq, nd) = queries (nq, D) · blockᵀ (D, nd)
      ops::Gemm(false, true, nq, nd, dim, 1.0f, queries + q0 * dim, dim, block, dim, 0.0f,
                scores.data(), nd);
#pragma omp parallel for schedule(static)
      for (int64_t q = 0; q < nq; ++q)
        for (int64_t d = 0; d < nd; ++d)
          tops[static_cast<size_t>(q0 + q)].Push({d0 + d, scores[static_cast<size_t>(q * nd + d)]});
    }
  }
  std::vector<std::vector<Hit>> out;
  out.reserve(tops.size());
  for (TopK& t : tops) out.push_back(t.Sorted());
  return out;
}

std::vector<Hit> MaxSimTopK(const float* query_tokens, int64_t query_len, const float* doc_tokens,
                            const std::vector<int64_t>& doc_offsets, int64_t dim, int k,
                            int64_t block_tokens) {
  MBERT_CHECK(!doc_offsets.empty() && doc_offsets.front() == 0 && query_len > 0 && dim > 0,
              "offsets ", doc_offsets.size(), " Lq ", query_len, " D ", dim);
  const int64_t num_docs = static_cast<int64_t>(doc_offsets.size()) - 1;
  TopK top(static_cast<int>(std::min<int64_t>(k, num_docs)));
  std::vector<float> scores;
  int64_t d0 = 0;
  while (d0 < num_docs) {
    // As many whole documents as fit in block_tokens (at least one).
    int64_t d1 = d0 + 1;
    while (d1 < num_docs && doc_offsets[d1 + 1] - doc_offsets[d0] <= block_tokens) ++d1;
    const int64_t t0 = doc_offsets[d0], nt = doc_offsets[d1] - t0;
    scores.resize(static_cast<size_t>(query_len * nt));
    // scores (Lq, nt) = query (Lq, D) · tokensᵀ (D, nt)
    ops::Gemm(false, true, query_len, nt, dim, 1.0f, query_tokens, dim, doc_tokens + t0 * dim, dim,
              0.0f, scores.data(), nt);
    for (int64_t d = d0; d < d1; ++d) {
      const int64_t b = doc_offsets[d] - t0, e = doc_offsets[d + 1] - t0;
      MBERT_CHECK(e > b, "document ", d, " has no token vectors");
      float total = 0;
      for (int64_t i = 0; i < query_len; ++i) {
        const float* row = scores.data() + i * nt;
        total += *std::max_element(row + b, row + e);
      }
      top.Push({d, total});
    }
    d0 = d1;
  }
  return top.Sorted();
}

Run AsRun(const std::vector<std::vector<Hit>>& hits, const std::vector<std::string>& query_ids,
          const std::vector<std::string>& doc_ids) {
  MBERT_CHECK(hits.size() == query_ids.size(), hits.size(), " vs ", query_ids.size());
  Run run;
  for (size_t q = 0; q < hits.size(); ++q) {
    auto& scores = run[query_ids[q]];  // present even when empty: the query counts as 0
    for (const Hit& h : hits[q]) scores[doc_ids.at(static_cast<size_t>(h.doc))] = h.score;
  }
  return run;
}

}  // namespace mbert::eval
