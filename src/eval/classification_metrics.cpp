#include "eval/classification_metrics.h"

#include <cmath>
#include <map>

#include "core/check.h"

namespace mbert::eval {

namespace {

void CheckSizes(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold) {
  MBERT_CHECK(pred.size() == gold.size() && !pred.empty(), "predictions ", pred.size(),
              " vs labels ", gold.size());
}

}  // namespace

double Accuracy(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold) {
  CheckSizes(pred, gold);
  int64_t right = 0;
  for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == gold[i];
  return static_cast<double>(right) / static_cast<double>(pred.size());
}

double BinaryF1(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold,
                int64_t positive) {
  CheckSizes(pred, gold);
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    const bool p = pred[i] == positive, g = gold[i] == positive;
    tp += p && g;
    fp += p && !g;
    fn += !p && g;
  }
  const int64_t denom = 2 * tp + fp + fn;
  return denom == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(denom);
}

double Matthews(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold) {
  CheckSizes(pred, gold);
  // sklearn: cov(y, p) over the confusion matrix C, t = row sums (true), p = column sums.
  std::map<int64_t, int64_t> t_sum, p_sum;
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    ++t_sum[gold[i]];
    ++p_sum[pred[i]];
    correct += pred[i] == gold[i];
  }
  const double n = static_cast<double>(pred.size());
  double tp_dot = 0, pp_dot = 0, tt_dot = 0;
  for (const auto& [c, t] : t_sum) {
    tt_dot += static_cast<double>(t) * static_cast<double>(t);
    const auto it = p_sum.find(c);
    if (it != p_sum.end()) tp_dot += static_cast<double>(t) * static_cast<double>(it->second);
  }
  for (const auto& [c, p] : p_sum) pp_dot += static_cast<double>(p) * static_cast<double>(p);
  const double cov_ytyp = static_cast<double>(correct) * n - tp_dot;
  const double cov_ypyp = n * n - pp_dot;
  const double cov_ytyt = n * n - tt_dot;
  if (cov_ypyp * cov_ytyt == 0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

}  // namespace mbert::eval
