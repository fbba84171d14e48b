// Softmax cross-entropy with ignore_index and mean reduction over the kept rows
// (torch.nn.functional.cross_entropy(reduction="mean", ignore_index=-100), the HF ForMaskedLM and
// token-classification loss), fused with its gradient.
#pragma once

#include <cstdint>

namespace mbert::ops {

// logits (rows, V) with row stride ldl. Returns the mean loss over rows with label != ignore_index
// (0 when every row is ignored, where torch would return NaN). If dlogits is non-null writes
// dlogits (rows, V), stride lddl, = d(loss)/d(logits), zero rows for ignored labels; dlogits may
// alias logits when the strides match. Max-shifted softmax in fp32; per-row sums of exp and the
// sum of row losses in double; deterministic for a given thread count. Labels other than
// ignore_index must lie in [0, V). If `correct` is non-null it receives the number of kept rows
// whose argmax (first maximum on ties, as torch.argmax) is the label: accuracy without another
// pass over the logits.
float CrossEntropyForwardBackward(const float* logits, int64_t ldl, const int32_t* labels,
                                  int64_t rows, int64_t V, float* dlogits, int64_t lddl,
                                  int32_t ignore_index = -100, int64_t* correct = nullptr);

}  // namespace mbert::ops
