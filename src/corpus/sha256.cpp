#include "corpus/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <vector>

#include "core/check.h"

namespace mbert::corpus {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  MBERT_CHECK(impl_->ctx != nullptr && EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1,
              "OpenSSL SHA-256 unavailable");
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::Update(const void* data, size_t n) {
  if (n > 0) EVP_DigestUpdate(impl_->ctx, data, n);
}

void Sha256::Digest(uint8_t out[32]) {
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  MBERT_CHECK(len == 32, "SHA-256 gave", len, "bytes");
}

std::string Sha256::HexDigest() {
  uint8_t d[32];
  Digest(d);
  return HexOf(d, 32);
}

std::string HexOf(const uint8_t* bytes, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    s += kHex[bytes[i] >> 4];
    s += kHex[bytes[i] & 15];
  }
  return s;
}

std::string Sha256Hex(const void* data, size_t n) {
  Sha256 h;
  h.Update(data, n);
  return h.HexDigest();
}

Result<std::string> Sha256OfFile(const std::string& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return Status::Error("cannot read " + path);
  Sha256 h;
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) h.Update(buf.data(), n);
  if (std::ferror(f.get())) return Status::Error("reading " + path + " failed");
  return h.HexDigest();
}

}  // namespace mbert::corpus
