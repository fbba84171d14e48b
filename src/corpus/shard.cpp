#include "corpus/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/check.h"
#include "corpus/sha256.h"

namespace mbert::corpus {

namespace {

static_assert(std::endian::native == std::endian::little, "shards are little-endian");

template <typename T>
void Put(std::vector<uint8_t>* out, size_t at, T v) {
  std::memcpy(out->data() + at, &v, sizeof(T));
}
template <typename T>
T Get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// The digest the header stores: bytes [0, 48) then [H, end).
void ShardDigest(const uint8_t* data, size_t size, uint8_t out[32]) {
  Sha256 h;
  h.Update(data, kShardDigestOffset);
  h.Update(data + kShardHeaderBytes, size - kShardHeaderBytes);
  h.Digest(out);
}

}  // namespace

void ShardBuilder::Add(std::span<const uint32_t> ids) {
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  offsets_.push_back(ids_.size());
}

std::vector<uint8_t> EncodeShard(std::span<const uint64_t> offsets, std::span<const uint32_t> ids,
                                 uint32_t vocab_size) {
  MBERT_CHECK(!offsets.empty() && offsets.front() == 0 && offsets.back() == ids.size(),
              "offsets must run from 0 to the id count");
  const uint64_t docs = offsets.size() - 1;
  const size_t size = kShardHeaderBytes + 8 * offsets.size() + 4 * ids.size();
  std::vector<uint8_t> out(size, 0);
  std::memcpy(out.data(), kShardMagic, 8);
  Put<uint32_t>(&out, 8, kShardVersion);
  Put<uint32_t>(&out, 12, kShardHeaderBytes);
  Put<uint64_t>(&out, 16, docs);
  Put<uint64_t>(&out, 24, ids.size());
  Put<uint32_t>(&out, 32, vocab_size);
  std::memcpy(out.data() + kShardHeaderBytes, offsets.data(), 8 * offsets.size());
  if (!ids.empty())
    std::memcpy(out.data() + kShardHeaderBytes + 8 * offsets.size(), ids.data(), 4 * ids.size());
  ShardDigest(out.data(), out.size(), out.data() + kShardDigestOffset);
  return out;
}

Result<ShardSummary> ShardBuilder::Write(const std::string& path) {
  const std::vector<uint8_t> bytes = EncodeShard(offsets_, ids_, vocab_size_);
  const std::string tmp = path + ".tmp";
  {
    std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(tmp.c_str(), "wb"),
                                                         std::fclose);
    if (!f) return Status::Error("cannot create shard " + tmp + ": check the output directory");
    if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() ||
        std::fflush(f.get()) != 0)
      return Status::Error("writing shard " + tmp + " failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::Error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  ShardSummary s{path, documents(), tokens(), HexOf(bytes.data() + kShardDigestOffset, 32)};
  offsets_.assign(1, 0);
  ids_.clear();
  return s;
}

Result<ShardView> ParseShard(const uint8_t* data, size_t size, const std::string& origin,
                             bool verify_content) {
  const std::string fix = ": the file is corrupt or not a shard; re-run `mbert data prepare`";
  if (size < kShardHeaderBytes)
    return Status::Error(origin + ": " + std::to_string(size) +
                         " bytes is shorter than the 80-byte shard header (truncated?)" + fix);
  if (std::memcmp(data, kShardMagic, 8) != 0)
    return Status::Error(origin + ": wrong magic (expected \"MBSHARD\")" + fix);
  const uint32_t version = Get<uint32_t>(data + 8);
  if (version != kShardVersion)
    return Status::Error(origin + ": shard version " + std::to_string(version) +
                         " is not supported (this build reads version 1)" + fix);
  if (Get<uint32_t>(data + 12) != kShardHeaderBytes)
    return Status::Error(origin + ": header size " + std::to_string(Get<uint32_t>(data + 12)) +
                         " must be 80" + fix);
  ShardView v;
  v.documents = Get<uint64_t>(data + 16);
  v.tokens = Get<uint64_t>(data + 24);
  v.vocab_size = Get<uint32_t>(data + 32);
  if (v.documents > kMaxShardDocuments || v.tokens > kMaxShardTokens)
    return Status::Error(origin + ": header claims " + std::to_string(v.documents) +
                         " documents and " + std::to_string(v.tokens) + " tokens, beyond limits" +
                         fix);
  const uint64_t want = kShardHeaderBytes + 8 * (v.documents + 1) + 4 * v.tokens;
  if (size != want)
    return Status::Error(origin + ": file has " + std::to_string(size) + " bytes, the header's " +
                         std::to_string(v.documents) + " documents and " +
                         std::to_string(v.tokens) + " tokens need " + std::to_string(want) +
                         (size < want ? " (truncated)" : "") + fix);
  MBERT_CHECK(reinterpret_cast<uintptr_t>(data) % 8 == 0, "shard data must be 8-byte aligned");
  v.offsets = reinterpret_cast<const uint64_t*>(data + kShardHeaderBytes);
  v.ids = reinterpret_cast<const uint32_t*>(data + kShardHeaderBytes + 8 * (v.documents + 1));
  if (v.offsets[0] != 0 || v.offsets[v.documents] != v.tokens)
    return Status::Error(origin + ": document offsets must start at 0 and end at " +
                         std::to_string(v.tokens) + fix);
  for (uint64_t d = 0; d < v.documents; ++d)
    if (v.offsets[d + 1] < v.offsets[d] || v.offsets[d + 1] > v.tokens)
      return Status::Error(origin + ": document offset " + std::to_string(d + 1) +
                           " is out of range (" + std::to_string(v.offsets[d + 1]) + ")" + fix);
  v.sha256 = HexOf(data + kShardDigestOffset, 32);
  if (verify_content) {
    uint8_t digest[32];
    ShardDigest(data, size, digest);
    if (std::memcmp(digest, data + kShardDigestOffset, 32) != 0)
      return Status::Error(origin + ": checksum mismatch (SHA-256 " + HexOf(digest, 32) +
                           ", header says " + v.sha256 + ")" + fix);
    for (uint64_t i = 0; i < v.tokens; ++i)
      if (v.ids[i] >= v.vocab_size)
        return Status::Error(origin + ": token " + std::to_string(i) + " has id " +
                             std::to_string(v.ids[i]) + ", not below the vocabulary size " +
                             std::to_string(v.vocab_size) + fix);
  }
  return v;
}

Result<ShardReader> ShardReader::Open(const std::string& path, bool verify_content) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::Error("cannot open shard " + path + ": " + std::strerror(errno) +
                         " (is the corpus directory complete?)");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Error(path + ": not a regular file; a shard must be a file");
  }
  ShardReader r;
  r.path_ = path;
  r.map_size_ = static_cast<size_t>(st.st_size);
  if (r.map_size_ > 0) {
    void* m = ::mmap(nullptr, r.map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      ::close(fd);
      return Status::Error("cannot mmap shard " + path + ": " + std::strerror(errno));
    }
    r.map_ = m;
  }
  ::close(fd);
  static const uint64_t kEmpty[1] = {0};
  const uint8_t* data =
      r.map_ ? static_cast<const uint8_t*>(r.map_) : reinterpret_cast<const uint8_t*>(kEmpty);
  MBERT_ASSIGN_OR_RETURN(r.view_, ParseShard(data, r.map_size_, path, verify_content));
  return r;
}

ShardReader::ShardReader(ShardReader&& o) noexcept { *this = std::move(o); }

ShardReader& ShardReader::operator=(ShardReader&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, map_size_);
    path_ = std::move(o.path_);
    map_ = o.map_;
    map_size_ = o.map_size_;
    view_ = o.view_;
    o.map_ = nullptr;
    o.map_size_ = 0;
    o.view_ = {};
  }
  return *this;
}

ShardReader::~ShardReader() {
  if (map_) ::munmap(map_, map_size_);
}

}  // namespace mbert::corpus
