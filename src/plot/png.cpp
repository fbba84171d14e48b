#include "plot/png.h"

#include <zlib.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace mbert::plot {

namespace {

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift & 0xff));
}

// A chunk: length, type, data, and the CRC-32 of type and data.
void PutChunk(std::string& out, std::string_view type, std::string_view data) {
  PutU32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.append(type);
  out.append(data);
  const auto* bytes = reinterpret_cast<const Bytef*>(out.data() + start);
  PutU32(out, static_cast<uint32_t>(crc32(0L, bytes, static_cast<uInt>(out.size() - start))));
}

}  // namespace

Result<std::string> EncodePng(const Canvas& canvas) {
  const size_t w = static_cast<size_t>(canvas.width()), h = static_cast<size_t>(canvas.height());
  // Each scanline is a filter-type byte (0: none) followed by its pixels.
  std::vector<uint8_t> raw;
  raw.reserve(h * (1 + 3 * w));
  for (size_t y = 0; y < h; ++y) {
    raw.push_back(0);
    const uint8_t* row = canvas.rgb().data() + y * w * 3;
    raw.insert(raw.end(), row, row + w * 3);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, raw.data(),
                           static_cast<uLong>(raw.size()), 6);
  if (rc != Z_OK)
    return Status::Error("PNG encoding: zlib compress2 failed (" + std::to_string(rc) + ")");
  packed.resize(packed_size);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  PutU32(header, static_cast<uint32_t>(w));
  PutU32(header, static_cast<uint32_t>(h));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, filter 0, no interlace
  PutChunk(png, "IHDR", header);
  PutChunk(png, "IDAT", packed);
  PutChunk(png, "IEND", "");
  return png;
}

}  // namespace mbert::plot
