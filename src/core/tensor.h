// Tensor: an owning, 64-byte aligned, row-major fp32 buffer with a PyTorch-order shape (and its
// bf16 storage twin). The HF-named weight table (TensorTable) is the single map that drives
// load, save, zero-grad, optimizer state and checkpoints.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/check.h"

namespace mbert {

// An owning, 64-byte aligned, row-major buffer of T with a PyTorch-order shape. Tensor (fp32)
// holds weights, gradients, optimizer moments and activations; Bf16Tensor holds the raw 16 bits
// of bf16 values, storage only, for inference weights loaded in bf16 (compute expands them to
// fp32, exactly: a bf16 is the top half of an fp32).
template <typename T>
class BasicTensor {
 public:
  BasicTensor() = default;
  // Zero-initialised.
  explicit BasicTensor(std::vector<int64_t> shape) : shape_(std::move(shape)) {
    int64_t n = 1;
    for (int64_t d : shape_) {
      MBERT_CHECK(d >= 0, "negative dimension ", d);
      n *= d;
    }
    numel_ = n;
    const size_t bytes = ((static_cast<size_t>(n) * sizeof(T) + 63) / 64) * 64;
    data_.reset(static_cast<T*>(std::aligned_alloc(64, bytes > 0 ? bytes : 64)));
    MBERT_CHECK(data_ != nullptr, "out of memory allocating ", bytes, " bytes");
    std::memset(data_.get(), 0, bytes);
  }

  BasicTensor(BasicTensor&&) noexcept = default;
  BasicTensor& operator=(BasicTensor&&) noexcept = default;
  BasicTensor(const BasicTensor&) = delete;
  BasicTensor& operator=(const BasicTensor&) = delete;

  BasicTensor Clone() const {
    BasicTensor t(shape_);
    if (numel_ > 0) std::memcpy(t.data(), data(), static_cast<size_t>(numel_) * sizeof(T));
    return t;
  }

  const std::vector<int64_t>& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const {
    MBERT_CHECK(i >= 0 && i < ndim(), "dim ", i, " of a ", ndim(), "-d tensor");
    return shape_[i];
  }
  int64_t numel() const { return numel_; }
  bool empty() const { return data_ == nullptr; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  void Zero() {
    if (numel_ > 0) std::memset(data_.get(), 0, static_cast<size_t>(numel_) * sizeof(T));
  }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  std::unique_ptr<T, Free> data_;
};

using Tensor = BasicTensor<float>;
using Bf16Tensor = BasicTensor<uint16_t>;

// Shape as text, e.g. "[2304, 768]", for error messages.
inline std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// HF-named tensors, ordered by name (deterministic iteration for save and optimizer state).
using TensorTable = std::map<std::string, Tensor>;
// The bf16 weights of a model loaded in bf16 (same names as in TensorTable).
using Bf16Table = std::map<std::string, Bf16Tensor>;

}  // namespace mbert
