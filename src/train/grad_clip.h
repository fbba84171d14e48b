// Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_ (the Trainer's
// max_grad_norm, default 1.0): total = ‖(‖g_1‖, …, ‖g_k‖)‖ over every gradient tensor;
// coef = max_norm / (total + 1e-6), and when coef < 1 every gradient is multiplied by it.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace mbert {

// Returns the norm before clipping. Norms are summed in double (torch sums in fp32: relative
// differences ~1e-7); the coefficient is formed in fp32 as torch's tensor arithmetic does.
// max_norm <= 0 only measures.
double ClipGradNorm(const std::vector<TensorTable*>& grads, double max_norm);

}  // namespace mbert
