#include "corpus/dedup.h"

#include <cctype>

namespace mbert::corpus {

std::string NormaliseForDedup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool gap = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80 && (std::isspace(c) || std::ispunct(c) || std::iscntrl(c))) {
      gap = !out.empty();
      continue;
    }
    if (gap) out.push_back(' ');
    gap = false;
    out.push_back(c < 0x80 ? static_cast<char>(std::tolower(c)) : ch);
  }
  return out;
}

uint64_t Fnv1a64Bytes(const void* data, size_t n) {
  uint64_t h = 14695981039346656037ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t DedupKey(std::string_view text) {
  const std::string n = NormaliseForDedup(text);
  return Fnv1a64Bytes(n.data(), n.size());
}

bool IsBlank(std::string_view text) {
  for (char ch : text)
    if (!std::isspace(static_cast<unsigned char>(ch))) return false;
  return true;
}

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool InValidation(uint64_t key, uint64_t seed, double fraction) {
  if (fraction <= 0) return false;
  const double u = static_cast<double>(Mix64(key ^ Mix64(seed)) >> 11) * 0x1.0p-53;
  return u < fraction;
}

}  // namespace mbert::corpus
