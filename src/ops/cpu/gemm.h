// fp32 GEMMs through oneDNN (Debian libdnnl-dev 2.6, OpenMP runtime) in PyTorch linear layout.
// oneDNN threads with OpenMP: the caller sets the thread count with omp_set_num_threads, and the
// primitives are cached per thread count (oneDNN requires executing with the count they were
// created for).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace mbert::ops {

// y (M, out) [+]= x (M, in) · Wᵀ (+ bias), W (out, in) row-major as in HF checkpoints. Three ways
// to hold W:
//  - copy (the constructor): W is copied ONCE into the layout oneDNN's matmul prefers for it (a
//    blocked format on CPUs with brgemm kernels; on AVX2 CPUs, where oneDNN 2.6 uses its jit
//    GEMM, plain row-major Wᵀ (in, out)), so the caller's buffers may change or go away afterwards.
//  - Borrow: when the preferred layout is a plain (unblocked) one, the GEMM kernel runs as well on
//    W's own (out, in) layout, so W and the bias are used in place (no copy; borrowed() is true);
//    for a blocked preference they are copied as above. Either way the caller keeps both alive
//    and at the same address until the next Repack or the Linear's destruction; in-place updates
//    of a borrowed W are seen by the next Forward, and Repack must still follow them (it re-copies
//    a copied W).
//  - BorrowBf16: W in bf16 (out, in), borrowed, with an fp32 bias (borrowed too). Each Forward
//    expands W to fp32 in blocks of rows into a per-thread scratch and runs the matmul on the
//    plain layout block by block: compute is fp32, bitwise the same as a borrowing Linear's on
//    fp32 weights that hold the bf16 values (same layout, same kernel). Inference only: no Repack.
// Forward may be called concurrently from several threads.
class Linear {
 public:
  Linear(const float* weight, int64_t out_features, int64_t in_features, const float* bias);
  static Linear Borrow(const float* weight, int64_t out_features, int64_t in_features,
                       const float* bias);
  static Linear BorrowBf16(const uint16_t* weight, int64_t out_features, int64_t in_features,
                           const float* bias);
  ~Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;
  Linear(const Linear&) = delete;
  Linear& operator=(const Linear&) = delete;

  // x (M, in) contiguous; y (M, out) with row stride ldy (-1: out_features). accumulate: y += ...
  // (the bias, if any, is added too).
  void Forward(const float* x, int64_t M, float* y, int64_t ldy = -1,
               bool accumulate = false) const;
  // After the weights changed (training step): re-copies a copied W and bias, or points a
  // borrowed Linear at `weight` and `bias` (which may be the buffers it already borrows). Same
  // shapes, bias present iff it was; not for bf16 weights.
  void Repack(const float* weight, const float* bias);

  int64_t out_features() const;
  int64_t in_features() const;
  bool has_bias() const;
  // True when Forward reads the caller's buffers (Borrow on the plain layout, BorrowBf16).
  bool borrowed() const;
  bool bf16() const;
  // Bytes of weight and bias copies this Linear owns (0 when borrowed), for memory accounting.
  int64_t owned_bytes() const;
  // oneDNN's implementation name for a given M (e.g. "gemm:jit", "brg:avx512_core"), for
  // benchmarks and diagnostics.
  std::string ImplName(int64_t M) const;

 private:
  struct Impl;
  explicit Linear(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Plain row-major GEMM for training, no pre-packing (weights change every step):
// C (M, N) = alpha * op(A) op(B) + beta * C, op(X) = Xᵀ when its trans flag is set; A is (M, K)
// or, transposed, (K, M) with row stride lda; B is (K, N) or (N, K) with row stride ldb.
// Used for dX = dY·W (no transposes) and dW += dYᵀ·X (trans_a, beta = 1).
void Gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace mbert::ops
