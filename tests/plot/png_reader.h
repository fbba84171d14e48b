// A minimal PNG reader for the tests, independent of the encoder under test: checks the
// signature, every chunk's CRC, IHDR and IEND, inflates the IDAT data with zlib and undoes the
// five scanline filters of 8-bit RGB. Anything else is reported as an error string.
#pragma once

#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace mbert::testing {

struct DecodedPng {
  std::string error;  // empty when the file decoded
  int width = 0, height = 0;
  std::vector<std::string> chunk_types;
  std::vector<uint8_t> rgb;  // rows top to bottom
  std::array<uint8_t, 3> At(int x, int y) const {
    const size_t i = (static_cast<size_t>(y) * width + x) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

inline uint32_t ReadU32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

inline int Paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

inline DecodedPng DecodePng(const std::string& file) {
  DecodedPng out;
  if (file.size() < 8 || file.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) {
    out.error = "bad signature";
    return out;
  }
  std::string idat;
  size_t pos = 8;
  while (pos < file.size()) {
    if (pos + 12 > file.size()) return out.error = "truncated chunk header", out;
    const uint32_t len = ReadU32(file, pos);
    if (pos + 12 + len > file.size()) return out.error = "truncated chunk", out;
    const std::string type = file.substr(pos + 4, 4);
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(file.data() + pos + 4), len + 4));
    if (crc != ReadU32(file, pos + 8 + len)) return out.error = "bad CRC in " + type, out;
    out.chunk_types.push_back(type);
    const std::string data = file.substr(pos + 8, len);
    if (type == "IHDR") {
      if (len != 13) return out.error = "IHDR length", out;
      out.width = static_cast<int>(ReadU32(data, 0));
      out.height = static_cast<int>(ReadU32(data, 4));
      if (data.substr(8) != std::string("\x08\x02\x00\x00\x00", 5))
        return out.error = "not 8-bit RGB, deflate, no interlace", out;
    } else if (type == "IDAT") {
      idat += data;
    }
    pos += 12 + len;
  }
  if (out.chunk_types.empty() || out.chunk_types.front() != "IHDR" ||
      out.chunk_types.back() != "IEND")
    return out.error = "IHDR must come first and IEND last", out;
  const size_t stride = static_cast<size_t>(out.width) * 3;
  std::vector<uint8_t> raw((stride + 1) * out.height);
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      raw_size != raw.size())
    return out.error = "IDAT does not inflate to the image size", out;
  out.rgb.resize(stride * out.height);
  for (int y = 0; y < out.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* row = &out.rgb[y * stride];
    const uint8_t* up = y > 0 ? &out.rgb[(y - 1) * stride] : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= 3 ? row[i - 3] : 0, b = up ? up[i] : 0, c = up && i >= 3 ? up[i - 3] : 0;
      int pred = 0;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) / 2;
          break;
        case 4:
          pred = Paeth(a, b, c);
          break;
        default:
          return out.error = "unknown filter " + std::to_string(filter), out;
      }
      row[i] = static_cast<uint8_t>(in[i] + pred);
    }
  }
  return out;
}

}  // namespace mbert::testing
