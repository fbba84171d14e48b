#include "serve/base64.h"

#include <cstring>
#include <vector>

namespace mbert::serve {

std::string Base64Encode(const uint8_t* data, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  size_t i = 0;
  // Whole 3-byte groups -> 4 characters of 6 bits each.
  for (; i + 3 <= n; i += 3) {
    const uint32_t g = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(g >> 18) & 63];
    out += kAlphabet[(g >> 12) & 63];
    out += kAlphabet[(g >> 6) & 63];
    out += kAlphabet[g & 63];
  }
  if (i < n) {  // 1 or 2 bytes left: padded with '='
    const bool two = i + 1 < n;
    const uint32_t g = (uint32_t{data[i]} << 16) | (two ? uint32_t{data[i + 1]} << 8 : 0);
    out += kAlphabet[(g >> 18) & 63];
    out += kAlphabet[(g >> 12) & 63];
    out += two ? kAlphabet[(g >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Base64Floats(const float* v, int64_t n) {
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    // Little-endian whatever the host's byte order.
    for (int b = 0; b < 4; ++b) bytes[static_cast<size_t>(i) * 4 + b] = (bits >> (8 * b)) & 0xFF;
  }
  return Base64Encode(bytes.data(), bytes.size());
}

}  // namespace mbert::serve
