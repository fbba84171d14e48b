// Gradient tables: the same HF names and shapes as the parameters (design.md §3: one table layout
// drives weights, gradients, optimizer state and checkpoints). Backward passes ACCUMULATE into a
// table, so several micro-batches can be summed; zero it between optimizer steps.
#pragma once

#include <string>

#include "core/tensor.h"

namespace mbert {

// Zero-initialised gradient table with the same names and shapes as `params`.
TensorTable ZeroGradsLike(const TensorTable& params);

// The gradient slot of parameter `name` (a checked error when the table has none: a bug).
float* GradOf(TensorTable* grads, const std::string& name);

// The slot, or null when the table has none (optional biases: attention_bias, mlp_bias, ...).
float* OptionalGrad(TensorTable* grads, const std::string& name);

}  // namespace mbert
