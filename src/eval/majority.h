// The majority-class baseline: predict, for every example, the class most frequent among the
// training labels (ties: the smallest id, so the result does not depend on the data's order).
#pragma once

#include <cstdint>
#include <vector>

namespace mbert::eval {

// -1 for an empty list.
int64_t MajorityClass(const std::vector<int64_t>& train_labels);

}  // namespace mbert::eval
