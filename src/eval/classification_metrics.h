// Classification metrics on integer class ids, equal to scikit-learn's in double precision:
//   Accuracy        accuracy_score
//   BinaryF1        f1_score(average="binary", pos_label=positive): 2tp / (2tp + fp + fn), and 0
//                   when there is no positive in either the labels or the predictions
//                   (zero_division's default)
//   Matthews        matthews_corrcoef (the multiclass form; 0 when a marginal is constant, e.g.
//                   every prediction in one class)
// `pred` and `gold` must have the same, non-zero length (MBERT_CHECK: a caller's bug).
#pragma once

#include <cstdint>
#include <vector>

namespace mbert::eval {

double Accuracy(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold);
double BinaryF1(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold,
                int64_t positive = 1);
double Matthews(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold);

}  // namespace mbert::eval
