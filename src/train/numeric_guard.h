// The training loop's numerical guard: the gradient of a step is checked before the optimizer
// uses it. One NaN or Inf would otherwise spread through StableAdamW's moments into every weight
// at once, and the run would go on to train on, and checkpoint, garbage with exit 0.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "mbert/status.h"
#include "model/weights.h"

namespace mbert {

// The global L2 norm of `grads`, visited in `order` (the model's parameter order, so "first"
// means nearest the embeddings). An error when the norm is not finite; it names the first
// parameter whose gradient holds a NaN or Inf and the element. `context` starts the message
// ("step 12").
Result<double> FiniteGradientNorm(const TensorTable& grads, const std::vector<ParamSpec>& order,
                                  const std::string& context);

}  // namespace mbert
