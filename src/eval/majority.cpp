#include "eval/majority.h"

#include <map>

namespace mbert::eval {

int64_t MajorityClass(const std::vector<int64_t>& train_labels) {
  std::map<int64_t, int64_t> counts;
  for (int64_t l : train_labels) ++counts[l];
  int64_t best = -1, best_count = 0;
  for (const auto& [label, n] : counts)  // ascending ids: the first of equal counts wins
    if (n > best_count) {
      best = label;
      best_count = n;
    }
  return best;
}

}  // namespace mbert::eval
