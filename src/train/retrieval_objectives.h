// Retrieval objectives on a batch of `columns` groups of Q sequences (objective.h TaskBatch):
// queries, positives, then hard-negative columns.
//
// DprObjective: sentence-transformers 6.2 MultipleNegativesRankingLoss with its defaults
// (directions ("query_to_doc",), partition_mode "joint", no hardness weighting) on pooled
// embeddings e = pool(hidden) (mean or cls; no Dense, no Normalize module):
//   s_ij = scale · cos(e_qi, e_dj), j over every document (positives, then each negative column),
//   loss = mean_i (logsumexp_j s_ij − s_ii).
// cos uses F.normalize (v / max(‖v‖, 1e-12)).
//
// ColbertObjective: PyLate 1.6.0 ColBERT + losses.Contrastive with ColBERTScores:
//   v = hidden · Pᵀ (P (dim, C), no bias: PyLate's Dense "1_Dense/linear.weight"), u = v / ‖v‖;
//   score(q, d) = Σ_{t in q} max_{s in d} u_t · u_s (MaxSim; every query token counts, the [MASK]
//   expansion tokens included, as with do_query_expansion);
//   S (Q, Q·G), G = columns − 1, column d·G + k = document group d's slot k (k 0 = positive);
//   loss = mean_i (logsumexp_j S_ij − S_{i, i·G}) (temperature 1).
// PyLate multiplies similarities by the document mask, so a document shorter than the padded
// document length (or holding a skiplist token) has a slot scoring 0: its max is floored at 0.
// Queries must be built as PyLate's tokenize() does (model/colbert.h ColbertTextIds).
// attend_to_expansion_tokens: only true is reproduced (queries are plain packed sequences);
// PyLate's default false would need attention that masks the expansion tokens as keys only.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "model/colbert.h"
#include "train/objective.h"

namespace mbert {

struct DprOptions {
  float scale = 20.0f;               // MNRL's default (1 / temperature)
  Pooling pooling = Pooling::kMean;  // sentence-transformers Pooling(mean) by default
};

class DprObjective : public Objective {
 public:
  explicit DprObjective(DprOptions o = {}) : opt_(o) {}
  Status CheckModel(const Encoder& m) const override;
  Result<ObjectiveResult> Run(const Encoder& m, const TaskBatch& b,
                              const std::vector<float>& hidden, float grad_scale,
                              TensorTable* grads, std::vector<float>* dhidden) override;
  // (B, C) pooled embeddings and, after a Run with gradients, dLoss/dembedding (unscaled).
  const std::vector<float>& embeddings() const { return emb_; }
  const std::vector<float>& embedding_grads() const { return demb_; }

 private:
  DprOptions opt_;
  std::vector<float> emb_, demb_;
};

struct ColbertOptions {
  int64_t dim = 128;            // projection size (PyLate's default embedding_size)
  int64_t document_length = 0;  // padded document length; 0 = the longest document in the batch
  std::set<int32_t> skiplist;   // document token ids masked out of MaxSim (PyLate: punctuation)
};

class ColbertObjective : public Objective {
 public:
  // `projection` (dim, C), HF layout (out, in).
  ColbertObjective(ColbertOptions o, Tensor projection);
  Status CheckModel(const Encoder& m) const override;
  Result<ObjectiveResult> Run(const Encoder& m, const TaskBatch& b,
                              const std::vector<float>& hidden, float grad_scale,
                              TensorTable* grads, std::vector<float>* dhidden) override;
  TensorTable* extra_params() override { return &params_; }
  TensorTable* extra_grads() override { return &grads_; }
  // (Q, Q·G) scores of the last Run.
  const std::vector<float>& scores() const { return scores_; }
  // (N, dim) L2-normalised projected vectors of every token of the last Run's batch.
  const std::vector<float>& token_vectors() const { return u_; }
  static constexpr const char* kProjection = "projection.weight";

 private:
  ColbertOptions opt_;
  TensorTable params_, grads_;
  std::vector<float> v_, u_, norm_, du_, dv_, scores_;
};

}  // namespace mbert
