// fp32 GEMMs through oneDNN (Debian libdnnl-dev 2.6, OpenMP runtime) in PyTorch linear layout.
// oneDNN threads with OpenMP: the caller sets the thread count with omp_set_num_threads, and the
// primitives are cached per thread count (oneDNN requires executing with the count they were
// created for).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace mbert::ops {

// y (M, out) [+]= x (M, in) · Wᵀ (+ bias), W (out, in) row-major as in HF checkpoints. The weights
// are copied ONCE at construction into the layout oneDNN's matmul prefers for them (a blocked
// format on CPUs with brgemm kernels; the plain transposed layout on AVX2 CPUs where oneDNN 2.6
// uses its jit GEMM), so the caller's weight buffer may change or go away afterwards.
// Forward may be called concurrently from several threads.
class Linear {
 public:
  Linear(const float* weight, int64_t out_features, int64_t in_features, const float* bias);
  ~Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;
  Linear(const Linear&) = delete;
  Linear& operator=(const Linear&) = delete;

  // x (M, in) contiguous; y (M, out) with row stride ldy (-1: out_features). accumulate: y += ...
  // (the bias, if any, is added too).
  void Forward(const float* x, int64_t M, float* y, int64_t ldy = -1,
               bool accumulate = false) const;
  // Re-pack after the weights changed (training step); same shapes, bias present iff it was.
  void Repack(const float* weight, const float* bias);

  int64_t out_features() const;
  int64_t in_features() const;
  bool has_bias() const;
  // oneDNN's implementation name for a given M (e.g. "gemm:jit", "brg:avx512_core"), for
  // benchmarks and diagnostics.
  std::string ImplName(int64_t M) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Plain row-major GEMM for training, no pre-packing (weights change every step):
// C (M, N) = alpha * op(A) op(B) + beta * C, op(X) = Xᵀ when its trans flag is set; A is (M, K)
// or, transposed, (K, M) with row stride lda; B is (K, N) or (N, K) with row stride ldb.
// Used for dX = dY·W (no transposes) and dW += dYᵀ·X (trans_a, beta = 1).
void Gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace mbert::ops
