#include "train/retrieval_objectives.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "model/heads.h"
#include "model/heads_backward.h"
#include "ops/cpu/gemm.h"

namespace mbert {

namespace {

constexpr double kNormEps = 1e-12;  // F.normalize's eps

// Q = B / columns, with the checks every retrieval batch needs.
Result<int64_t> QueriesOf(const TaskBatch& b) {
  const int64_t B = b.packed.num_seqs();
  if (b.columns < 2)
    return Status::Error("a retrieval batch needs at least 2 columns (queries, positives), got " +
                         std::to_string(b.columns));
  if (B == 0 || B % b.columns != 0)
    return Status::Error("a retrieval batch of " + std::to_string(b.columns) +
                         " columns needs a multiple of " + std::to_string(b.columns) +
                         " sequences, got " + std::to_string(B));
  return B / b.columns;
}

// Softmax cross-entropy of row `row` (n scores, double) with target `target`: returns the loss
// and writes d = softmax − onehot.
double RowCrossEntropy(const double* row, int64_t n, int64_t target, double* d) {
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) mx = std::max(mx, row[j]);
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(row[j] - mx);
  const double lse = mx + std::log(sum);
  for (int64_t j = 0; j < n; ++j) d[j] = std::exp(row[j] - lse) - (j == target ? 1.0 : 0.0);
  return lse - row[target];
}

// u = v / max(‖v‖, eps) per row; norms kept for the backward.
void NormalizeRows(const float* v, int64_t rows, int64_t dim, float* u, float* norms) {
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (int64_t k = 0; k < dim; ++k) s += static_cast<double>(v[r * dim + k]) * v[r * dim + k];
    const double n = std::max(std::sqrt(s), kNormEps);
    norms[r] = static_cast<float>(n);
    for (int64_t k = 0; k < dim; ++k) u[r * dim + k] = static_cast<float>(v[r * dim + k] / n);
  }
}

// Backward of NormalizeRows: dv = (du − u (u·du)) / n while ‖v‖ > eps, du / eps otherwise.
void NormalizeRowsBackward(const float* v, const float* u, const float* norms, const float* du,
                           int64_t rows, int64_t dim, float* dv) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* ur = u + r * dim;
    const float* dur = du + r * dim;
    float* dvr = dv + r * dim;
    double n2 = 0.0;
    for (int64_t k = 0; k < dim; ++k) n2 += static_cast<double>(v[r * dim + k]) * v[r * dim + k];
    if (std::sqrt(n2) <= kNormEps) {
      for (int64_t k = 0; k < dim; ++k) dvr[k] = static_cast<float>(dur[k] / kNormEps);
      continue;
    }
    double dot = 0.0;
    for (int64_t k = 0; k < dim; ++k) dot += static_cast<double>(ur[k]) * dur[k];
    for (int64_t k = 0; k < dim; ++k)
      dvr[k] = static_cast<float>((dur[k] - ur[k] * dot) / norms[r]);
  }
}

}  // namespace

Status DprObjective::CheckModel(const Encoder& m) const {
  (void)m;  // any ModernBERT: only the encoder's hidden states are used
  if (!(opt_.scale > 0.0f)) return Status::Error("DPR scale must be positive");
  return Status::Ok();
}

Result<ObjectiveResult> DprObjective::Run(const Encoder& m, const TaskBatch& b,
                                          const std::vector<float>& hidden, float grad_scale,
                                          TensorTable* grads, std::vector<float>* dhidden) {
  (void)grads;  // no head parameters
  MBERT_RETURN_IF_ERROR(CheckModel(m));
  MBERT_ASSIGN_OR_RETURN(const int64_t Q, QueriesOf(b));
  const int64_t C = m.config().hidden_size, N = b.packed.num_tokens();
  const int64_t B = b.packed.num_seqs(), D = B - Q;  // D documents: every column after queries
  MBERT_CHECK(static_cast<int64_t>(hidden.size()) == N * C, "hidden states of another batch");
  PoolSequences(hidden.data(), C, b.packed.cu_seqlens, opt_.pooling, &emb_);
  std::vector<float> u(static_cast<size_t>(B * C)), norms(static_cast<size_t>(B));
  NormalizeRows(emb_.data(), B, C, u.data(), norms.data());
  const float* uq = u.data();
  const float* ud = u.data() + Q * C;

  // s (Q, D) in double: cos(q_i, d_j) from the fp32 unit vectors, times the scale.
  std::vector<double> s(static_cast<size_t>(Q * D)), ds(static_cast<size_t>(Q * D));
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t j = 0; j < D; ++j) {
      double dot = 0.0;
      for (int64_t k = 0; k < C; ++k) dot += static_cast<double>(uq[i * C + k]) * ud[j * C + k];
      s[i * D + j] = static_cast<double>(opt_.scale) * dot;
    }
  ObjectiveResult r;
  r.count = Q;
  double loss = 0.0;
  for (int64_t i = 0; i < Q; ++i) loss += RowCrossEntropy(&s[i * D], D, i, &ds[i * D]);
  r.loss = loss / static_cast<double>(Q);
  if (dhidden == nullptr) return r;

  // d s_ij = (softmax − onehot) / Q; du_q = scale Σ_j ds_ij u_dj, du_d = scale Σ_i ds_ij u_qi.
  std::vector<double> du(static_cast<size_t>(B * C), 0.0);
  const double f = static_cast<double>(opt_.scale) / static_cast<double>(Q);
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t j = 0; j < D; ++j) {
      const double g = f * ds[i * D + j];
      for (int64_t k = 0; k < C; ++k) {
        du[i * C + k] += g * ud[j * C + k];
        du[(Q + j) * C + k] += g * uq[i * C + k];
      }
    }
  std::vector<float> duf(du.begin(), du.end());
  demb_.resize(static_cast<size_t>(B * C));
  NormalizeRowsBackward(emb_.data(), u.data(), norms.data(), duf.data(), B, C, demb_.data());
  std::vector<float> scaled(demb_);
  for (float& x : scaled) x *= grad_scale;
  dhidden->assign(static_cast<size_t>(N * C), 0.0f);
  PoolSequencesBackward(scaled.data(), C, b.packed.cu_seqlens, opt_.pooling, dhidden->data());
  return r;
}

ColbertObjective::ColbertObjective(ColbertOptions o, Tensor projection) : opt_(std::move(o)) {
  grads_.emplace(kProjection, Tensor(projection.shape()));
  params_.emplace(kProjection, std::move(projection));
}

Status ColbertObjective::CheckModel(const Encoder& m) const {
  const Tensor& p = params_.at(kProjection);
  if (p.ndim() != 2 || p.dim(0) != opt_.dim || p.dim(1) != m.config().hidden_size)
    return Status::Error("the ColBERT projection must be (" + std::to_string(opt_.dim) + ", " +
                         std::to_string(m.config().hidden_size) + "), got " +
                         ShapeString(p.shape()));
  return Status::Ok();
}

Result<ObjectiveResult> ColbertObjective::Run(const Encoder& m, const TaskBatch& b,
                                              const std::vector<float>& hidden, float grad_scale,
                                              TensorTable* grads, std::vector<float>* dhidden) {
  (void)grads;  // the projection's gradient goes to extra_grads()
  MBERT_RETURN_IF_ERROR(CheckModel(m));
  MBERT_ASSIGN_OR_RETURN(const int64_t Q, QueriesOf(b));
  const int64_t C = m.config().hidden_size, N = b.packed.num_tokens(), Dm = opt_.dim;
  const int64_t G = b.columns - 1;  // documents per group (positive + negatives)
  const std::vector<int32_t>& cu = b.packed.cu_seqlens;
  MBERT_CHECK(static_cast<int64_t>(hidden.size()) == N * C, "hidden states of another batch");

  // Padded document length and, per document, whether a masked slot (padding or skiplist)
  // exists: PyLate's masked similarity is 0 there, a floor under the max.
  int64_t longest = 0;
  for (int64_t s = Q; s < b.packed.num_seqs(); ++s)
    longest = std::max<int64_t>(longest, b.packed.seq_len(s));
  const int64_t Ld = opt_.document_length > 0 ? opt_.document_length : longest;
  if (longest > Ld)
    return Status::Error("a document has " + std::to_string(longest) +
                         " tokens, more than the ColBERT document length " + std::to_string(Ld));

  // v = hidden · Pᵀ (N, Dm); u = v / ‖v‖.
  const float* P = params_.at(kProjection).data();
  v_.resize(static_cast<size_t>(N * Dm));
  u_.resize(v_.size());
  norm_.resize(static_cast<size_t>(N));
  ops::Gemm(false, true, N, Dm, C, 1.0f, hidden.data(), C, P, C, 0.0f, v_.data(), Dm);
  NormalizeRows(v_.data(), N, Dm, u_.data(), norm_.data());

  auto masked = [&](int32_t id) { return opt_.skiplist.count(id) > 0; };
  // For each (query i, group d, slot k): per query token the best document token (or -1 when the
  // 0 floor wins).
  const int64_t cols = Q * G;
  scores_.assign(static_cast<size_t>(Q * cols), 0.0f);
  std::vector<int32_t> best;  // (Q, cols, query tokens) flattened per (i, col)
  std::vector<int64_t> best_off(static_cast<size_t>(Q * cols) + 1, 0);
  for (int64_t i = 0; i < Q; ++i) {
    const int64_t qb = cu[i], qe = cu[i + 1];
    for (int64_t d = 0; d < Q; ++d)
      for (int64_t k = 0; k < G; ++k) {
        const int64_t seq = (1 + k) * Q + d;
        const int64_t db = cu[seq], de = cu[seq + 1];
        bool has_floor = de - db < Ld;
        for (int64_t s = db; s < de; ++s) has_floor = has_floor || masked(b.packed.input_ids[s]);
        double total = 0.0;
        for (int64_t t = qb; t < qe; ++t) {
          float mx = has_floor ? 0.0f : -std::numeric_limits<float>::infinity();
          int32_t arg = -1;
          for (int64_t s = db; s < de; ++s) {
            if (masked(b.packed.input_ids[s])) continue;
            float dot = 0.0f;
            for (int64_t c = 0; c < Dm; ++c) dot += u_[t * Dm + c] * u_[s * Dm + c];
            if (dot > mx) {  // first maximum, as torch.max
              mx = dot;
              arg = static_cast<int32_t>(s);
            }
          }
          best.push_back(arg);
          total += mx;
        }
        const int64_t col = d * G + k;
        scores_[i * cols + col] = static_cast<float>(total);
        best_off[static_cast<size_t>(i * cols + col) + 1] = static_cast<int64_t>(best.size());
      }
  }

  ObjectiveResult r;
  r.count = Q;
  std::vector<double> row(static_cast<size_t>(cols)), ds(static_cast<size_t>(Q * cols));
  double loss = 0.0;
  for (int64_t i = 0; i < Q; ++i) {
    for (int64_t j = 0; j < cols; ++j) row[j] = scores_[i * cols + j];
    loss += RowCrossEntropy(row.data(), cols, i * G, &ds[i * cols]);
  }
  r.loss = loss / static_cast<double>(Q);
  if (dhidden == nullptr) return r;

  // dS = (softmax − onehot) / Q; each MaxSim term passes it to its query token and the chosen
  // document token.
  du_.assign(static_cast<size_t>(N * Dm), 0.0f);
  const double f = static_cast<double>(grad_scale) / static_cast<double>(Q);
  for (int64_t i = 0; i < Q; ++i) {
    const int64_t qb = cu[i];
    for (int64_t col = 0; col < cols; ++col) {
      const float g = static_cast<float>(f * ds[i * cols + col]);
      const int64_t off = best_off[static_cast<size_t>(i * cols + col)];
      const int64_t end = best_off[static_cast<size_t>(i * cols + col) + 1];
      for (int64_t q = 0; q < end - off; ++q) {
        const int32_t s = best[static_cast<size_t>(off + q)];
        if (s < 0) continue;  // the 0 floor won: no gradient
        const int64_t t = qb + q;
        for (int64_t c = 0; c < Dm; ++c) {
          du_[t * Dm + c] += g * u_[s * Dm + c];
          du_[s * Dm + c] += g * u_[t * Dm + c];
        }
      }
    }
  }
  dv_.resize(du_.size());
  NormalizeRowsBackward(v_.data(), u_.data(), norm_.data(), du_.data(), N, Dm, dv_.data());
  // dP (Dm, C) += dvᵀ · hidden; dhidden (N, C) = dv · P.
  ops::Gemm(true, false, Dm, C, N, 1.0f, dv_.data(), Dm, hidden.data(), C, 1.0f,
            grads_.at(kProjection).data(), C);
  dhidden->resize(static_cast<size_t>(N * C));
  ops::Gemm(false, false, N, C, Dm, 1.0f, dv_.data(), Dm, P, C, 0.0f, dhidden->data(), C);
  return r;
}

}  // namespace mbert
