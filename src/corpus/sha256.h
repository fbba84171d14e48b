// SHA-256 (OpenSSL EVP) over data fed in pieces; the corpus checksums shards and names the
// tokenizer with it. Chosen over FNV-1a: SHA-NI / AVX2 make it faster than byte-wise FNV on the
// 100 MB-scale shards, and a single flipped bit anywhere changes it with certainty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "mbert/status.h"

namespace mbert::corpus {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t n);
  // Lower-case hex of the 32-byte digest; the object is spent afterwards.
  std::string HexDigest();
  void Digest(uint8_t out[32]);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(const void* data, size_t n);
// The digest of a file's bytes; an error names the file.
Result<std::string> Sha256OfFile(const std::string& path);
std::string HexOf(const uint8_t* bytes, size_t n);

}  // namespace mbert::corpus
