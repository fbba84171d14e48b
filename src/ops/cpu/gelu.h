// Exact-erf GELU, 0.5*x*(1+erf(x/sqrt(2))) (HF "gelu" = torch.nn.functional.gelu default, not the
// tanh approximation; reference §2.4.6), and GeGLU (reference §2.4.5): u (N, 2I) = [input | gate],
// y (N, I) = gelu(input) * gate. Vectorised; relative error a few fp32 ulp (see
// tests/ops/test_gelu).
#pragma once

#include <cstdint>

namespace mbert::ops {

// y (n) = gelu(x); y may alias x.
void GeluForward(const float* x, float* y, int64_t n);
// dx (n) = dy * gelu'(x), written; dx may alias dy.
void GeluBackward(const float* x, const float* dy, float* dx, int64_t n);

// u (N, 2I) = [input | gate] -> y (N, I) = gelu(input) * gate.
void GegluForward(const float* u, float* y, int64_t N, int64_t I);
// du (N, 2I) written: [dy * gate * gelu'(input) | dy * gelu(input)].
void GegluBackward(const float* u, const float* dy, float* du, int64_t N, int64_t I);

}  // namespace mbert::ops
