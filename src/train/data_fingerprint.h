// What a checkpoint remembers of its training data, so that a resume can tell the data changed:
// the order of documents, the cursor into it and the packer's buffer all index or copy the data
// the checkpoint was trained on, and against other data they would read out of bounds or silently
// train on a different stream. The fingerprint lists each source (path, size, FNV-1a checksum of
// its bytes) and summarises the tokenized documents (counts and a checksum of every id).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mbert {

constexpr uint64_t kFnv1a64Offset = 14695981039346656037ull;
// FNV-1a, 64 bits: fast, dependency-free and plenty to notice an edited or replaced file (this
// guards against accidents, not against an adversary forging a collision).
uint64_t Fnv1a64(const void* data, size_t n, uint64_t h = kFnv1a64Offset);

struct DataSourceInfo {
  std::string path;
  uint64_t bytes = 0;
  uint64_t fnv1a64 = 0;
};

nlohmann::json DataFingerprint(const std::vector<DataSourceInfo>& sources,
                               const std::vector<std::vector<int32_t>>& train,
                               const std::vector<std::vector<int32_t>>& eval);

// Empty when `saved` (from a checkpoint) and `now` describe the same data, else one sentence per
// difference ("data file a.txt has 120 bytes, the checkpoint's had 400"). Paths alone may differ
// (a moved directory): sources are compared by position, size and checksum.
std::string DataFingerprintDiff(const nlohmann::json& saved, const nlohmann::json& now);

}  // namespace mbert
