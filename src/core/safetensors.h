// safetensors: reader (mmap, validated header) and atomic writer.
// Format: u64 little-endian header length n, n bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data region; offsets are relative to the start of the data region.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "mbert/status.h"

namespace mbert {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // points into the mapped file; may be unaligned
  size_t nbytes = 0;
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps `path` read-only and validates the header against the file size.
  static Result<SafetensorsFile> Open(const std::string& path);
  // Parses an in-memory buffer (not copied: it must outlive the result). `origin` names it in errors.
  static Result<SafetensorsFile> Parse(const uint8_t* bytes, size_t size, const std::string& origin);

  const TensorView* Find(const std::string& name) const;
  // Drops the pages holding `view` (a tensor of this file) from the process's memory once its
  // data has been copied out, so loading a model never holds the whole mapped file resident next
  // to the converted tensors. The view stays valid: touching it again re-reads the file. A no-op
  // for Parse()d buffers, which this file does not own.
  void Release(const TensorView& view) const;
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  struct Mapping;
  std::shared_ptr<Mapping> mapping_;
  std::string path_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Converts a floating tensor (F32/F16/BF16/F64) to fp32 into `out` (numel floats).
Status ConvertToFloat(const TensorView& view, float* out, const std::string& origin);
// Converts a floating tensor to bf16 into `out` (numel values), rounding to nearest even: BF16 is
// copied exactly, F32 rounded once, F16 and F64 go through fp32 first (exact for F16, whose values
// all fit fp32; F64 may round twice).
Status ConvertToBf16(const TensorView& view, uint16_t* out, const std::string& origin);
// Reads an integer tensor (I32/I64) into int32 values; errors on values outside int32.
Result<std::vector<int32_t>> ReadInt32(const TensorView& view, const std::string& origin);

struct TensorToWrite {
  std::string name;
  const Tensor* tensor = nullptr;
  DType dtype = DType::kF32;  // F32 or BF16 on disk
};

// Writes tensors in the given order. Atomic: writes `path.tmp`, fsyncs it, renames over `path`
// and fsyncs the directory, so a crash leaves either the old or the new file, never a torn one.
Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

// Writes int32 tensors (1-D), e.g. token ids and cu_seqlens of a pre-tokenized shard. Atomic.
Status WriteInt32Safetensors(const std::string& path,
                             const std::vector<std::pair<std::string, std::vector<int32_t>>>& t);

// Atomically replaces `path` with `contents` (same write/fsync/rename protocol).
Status WriteFileAtomic(const std::string& path, const std::string& contents);

}  // namespace mbert
