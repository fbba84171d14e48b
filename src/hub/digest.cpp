#include "hub/digest.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

namespace mbert::hub {

namespace {

Result<std::string> Digest(const std::string& path, const EVP_MD* md, const std::string& prefix) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return Status::Error("cannot read " + path);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
    return Status::Error("OpenSSL digest unavailable");
  EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0)
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
  if (std::ferror(f.get())) return Status::Error("reading " + path + " failed");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}

}  // namespace

Result<std::string> Sha256File(const std::string& path) { return Digest(path, EVP_sha256(), ""); }

Result<std::string> GitBlobSha1File(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::Error("cannot read " + path + ": " + ec.message());
  std::string prefix = "blob " + std::to_string(size);
  prefix.push_back('\0');
  return Digest(path, EVP_sha1(), prefix);
}

}  // namespace mbert::hub
