// Tokenized shard files (*.mbshard): the documents of one source and one split (train / val),
// written by `mbert data prepare` and read by the sampler without re-tokenizing.
//
// Format, version 1. Little-endian, every field at its natural alignment, so the whole file can
// be mmap'ed and the index and ids used in place:
//
//   offset        size      field
//   0             8         magic "MBSHARD\0"
//   8             4         version (uint32) = 1
//   12            4         header size H (uint32) = 80: where the offset index starts
//   16            8         documents D (uint64)
//   24            8         tokens T (uint64)
//   32            4         vocab size V (uint32): every id is < V
//   36            12        reserved, zero
//   48            32        SHA-256 of bytes [0, 48) followed by bytes [H, end of file)
//   H             8*(D+1)   document offsets (uint64): offsets[0] = 0, non-decreasing,
//                           offsets[D] = T; document d is ids[offsets[d], offsets[d+1])
//   H + 8*(D+1)   4*T       token ids (uint32)
//
// The file is exactly H + 8*(D+1) + 4*T bytes. Each document is a training sequence as the model
// sees it: [CLS] ids... [SEP] (prepare splits longer documents into such windows).
//
// Checksum: SHA-256 (OpenSSL) rather than FNV-1a: with SHA-NI it runs at ~1-2 GB/s, faster than
// byte-wise FNV, and it also covers the header fields, so a flipped count is caught, not only a
// flipped id. The manifest records each shard's digest too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert::corpus {

inline constexpr char kShardMagic[8] = {'M', 'B', 'S', 'H', 'A', 'R', 'D', '\0'};
inline constexpr uint32_t kShardVersion = 1;
inline constexpr uint32_t kShardHeaderBytes = 80;
inline constexpr uint64_t kShardDigestOffset = 48;
// Refused beyond these: far above any real shard, and small enough that no size computation
// below can overflow 64 bits.
inline constexpr uint64_t kMaxShardDocuments = uint64_t{1} << 36;
inline constexpr uint64_t kMaxShardTokens = uint64_t{1} << 38;

struct ShardSummary {
  std::string path;
  uint64_t documents = 0;
  uint64_t tokens = 0;
  std::string sha256;  // hex, the digest stored in the header
};

// Collects documents in memory and writes them as one shard file.
class ShardBuilder {
 public:
  explicit ShardBuilder(uint32_t vocab_size) : vocab_size_(vocab_size) { offsets_.push_back(0); }
  void Add(std::span<const uint32_t> ids);
  uint64_t documents() const { return offsets_.size() - 1; }
  uint64_t tokens() const { return ids_.size(); }
  // Writes `path` (through a temporary file renamed into place) and clears the builder.
  Result<ShardSummary> Write(const std::string& path);

 private:
  uint32_t vocab_size_;
  std::vector<uint64_t> offsets_;  // (D+1)
  std::vector<uint32_t> ids_;      // (T)
};

// The bytes of a shard file with these contents (what ShardBuilder::Write stores).
std::vector<uint8_t> EncodeShard(std::span<const uint64_t> offsets, std::span<const uint32_t> ids,
                                 uint32_t vocab_size);

// A validated view of shard bytes that belong to someone else (a mapping or a buffer).
struct ShardView {
  uint64_t documents = 0;
  uint64_t tokens = 0;
  uint32_t vocab_size = 0;
  std::string sha256;
  const uint64_t* offsets = nullptr;  // (D+1)
  const uint32_t* ids = nullptr;      // (T)

  std::span<const uint32_t> Document(uint64_t d) const {
    return {ids + offsets[d], static_cast<size_t>(offsets[d + 1] - offsets[d])};
  }
};

// Checks the header, the size, the offset index (always: it is small and an offset out of range
// would read outside the file) and, with `verify_content`, the checksum and that every id is below
// the vocabulary size. `origin` names the file in errors. `data` must be 8-byte aligned.
Result<ShardView> ParseShard(const uint8_t* data, size_t size, const std::string& origin,
                             bool verify_content);

// An mmap'ed, validated shard file. Move-only; the mapping lives as long as the reader.
class ShardReader {
 public:
  static Result<ShardReader> Open(const std::string& path, bool verify_content = true);
  ShardReader(ShardReader&& o) noexcept;
  ShardReader& operator=(ShardReader&& o) noexcept;
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;
  ~ShardReader();

  uint64_t documents() const { return view_.documents; }
  uint64_t tokens() const { return view_.tokens; }
  uint32_t vocab_size() const { return view_.vocab_size; }
  const std::string& sha256() const { return view_.sha256; }
  const std::string& path() const { return path_; }
  // Document d < documents(): its ids, [CLS] ... [SEP].
  std::span<const uint32_t> Document(uint64_t d) const { return view_.Document(d); }

 private:
  ShardReader() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  ShardView view_;
};

}  // namespace mbert::corpus
