// Fast CPU attention on a packed batch (reference §2.4.4), forward and backward.
//
// Flash-style: per (sequence, head, query block) an online softmax over key chunks, so no S x S
// score matrix ever exists: scratch per thread is O(block) plus, for global layers and the
// backward, one contiguous copy of the current head's keys and values (O(S*D)). Local layers visit
// only the band |i - j| <= W (cost per token independent of the sequence length). Softmax in fp32.
// OpenMP over work items with a static cost-weighted partition: results are bitwise deterministic
// (independent even of the thread count), and a sequence's output does not depend on what else is
// packed with it. src/ops/ref/attention.h is the oracle and states the maths.
#pragma once

#include <cstdint>

namespace mbert::ops {

// q, k, v: element (n, h, d) at ptr[n * ld_in + h * D + d] (so they may point into the (N, 3C) qkv
// buffer with ld_in = 3C). out: (n, h, d) at out[n * ld_out + h * D + d].
// window < 0: global; else keys j with |i - j| <= window inside the query's sequence.
// lse: optional (may be nullptr), (N, H) row-major log-sum-exp of the scaled scores, for backward.
void AttentionForward(const float* q, const float* k, const float* v, int64_t ld_in, float* out,
                      int64_t ld_out, float* lse, const int32_t* cu_seqlens, int num_seqs,
                      int num_heads, int head_dim, int window, float scale);

// Gradients are written (not accumulated) to dq/dk/dv with layout like q/k/v but stride ld_grad
// (may point into a (N, 3C) dqkv buffer). out/dout use ld_out. lse from the forward.
void AttentionBackward(const float* q, const float* k, const float* v, int64_t ld_in,
                       const float* out, const float* dout, int64_t ld_out, const float* lse,
                       float* dq, float* dk, float* dv, int64_t ld_grad, const int32_t* cu_seqlens,
                       int num_seqs, int num_heads, int head_dim, int window, float scale);

}  // namespace mbert::ops
