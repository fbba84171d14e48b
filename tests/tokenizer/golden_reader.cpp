#include "golden_reader.h"

#ifdef MBERT_HAVE_LZMA
#include <lzma.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace mbert::testing {
namespace {

#ifdef MBERT_HAVE_LZMA
bool Xz(const std::string& /*path*/, const std::string& in, std::string* out) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK) return false;
  s.next_in = reinterpret_cast<const uint8_t*>(in.data());
  s.avail_in = in.size();
  std::string buf(1 << 20, '\0');
  lzma_ret r;
  do {
    s.next_out = reinterpret_cast<uint8_t*>(buf.data());
    s.avail_out = buf.size();
    r = lzma_code(&s, LZMA_FINISH);
    out->append(buf.data(), buf.size() - s.avail_out);
  } while (r == LZMA_OK);
  lzma_end(&s);
  return r == LZMA_STREAM_END;
}
#else
// Without liblzma-dev at build time, the xz command line tool decompresses.
bool Xz(const std::string& path, const std::string& /*in*/, std::string* out) {
  FILE* p = popen(("xz -dc '" + path + "' 2>/dev/null").c_str(), "r");
  if (!p) return false;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  return pclose(p) == 0;
}
#endif

struct Cursor {
  const std::string& d;
  size_t i = 0;
  bool bad = false;
  uint64_t Varint() {
    uint64_t v = 0;
    int shift = 0;
    while (true) {
      if (i >= d.size() || shift > 63) {
        bad = true;
        return 0;
      }
      const auto b = static_cast<uint8_t>(d[i++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
      shift += 7;
    }
  }
  std::string Str() {
    const uint64_t n = Varint();
    if (bad || i + n > d.size()) {
      bad = true;
      return {};
    }
    std::string s = d.substr(i, n);
    i += n;
    return s;
  }
  std::vector<uint8_t> Bytes(size_t n) {
    if (i + n > d.size()) {
      bad = true;
      return {};
    }
    std::vector<uint8_t> v(d.begin() + static_cast<std::ptrdiff_t>(i),
                           d.begin() + static_cast<std::ptrdiff_t>(i + n));
    i += n;
    return v;
  }
};

}  // namespace

std::string GoldenDir() {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return std::string(d ? d : "tests/data") + "/tokenizer";
}

std::string ModernBertTokenizerJson() {
  const char* d = std::getenv("MBERT_SHARED_DIR");
  return std::string(d ? d : "../shared") + "/data/modernbert-base/tokenizer.json";
}

bool ReadGoldens(const std::string& path, std::vector<GoldenRecord>* out, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = path + ": cannot open (run tools/golden/tokenizer_goldens.py)";
    return false;
  }
  const std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string data;
  if (!Xz(path, raw, &data)) {
    *error =
        path + ": not a valid .xz stream (or, built without liblzma-dev, no `xz` tool to read it)";
    return false;
  }
  static const std::string kMagic = "MBTOKG1\n";
  if (data.compare(0, kMagic.size(), kMagic) != 0) {
    *error = path + ": bad magic";
    return false;
  }
  Cursor c{data, kMagic.size()};
  while (c.i < data.size() && !c.bad) {
    GoldenRecord r;
    const uint64_t flags = c.Varint();
    r.pair = flags & 1;
    r.has_tokens = flags & 2;
    r.opts.present = flags & 4;
    r.error = flags & 8;
    r.text = c.Str();
    if (r.pair) r.text_pair = c.Str();
    if (r.opts.present) {
      int* fields[] = {&r.opts.add_special, &r.opts.trunc_on,   &r.opts.strategy,
                       &r.opts.max_len,     &r.opts.trunc_side, &r.opts.pad_on,
                       &r.opts.pad_len,     &r.opts.multiple,   &r.opts.pad_side};
      for (int* p : fields) *p = static_cast<int>(c.Varint());
    }
    if (!r.error) {
      const size_t n = c.Varint();
      if (c.bad || n > data.size()) break;
      r.ids.resize(n);
      for (auto& id : r.ids) id = static_cast<int32_t>(c.Varint());
      r.offsets.resize(n);
      for (auto& o : r.offsets) {
        o.first = static_cast<uint32_t>(c.Varint());
        o.second = static_cast<uint32_t>(c.Varint());
      }
      r.special_mask = c.Bytes(n);
      r.attention_mask = c.Bytes(n);
      r.decode_skip = c.Str();
      r.decode_keep = c.Str();
      r.decode_clean = c.Str();
      if (r.has_tokens) {
        r.tokens.resize(n);
        for (auto& t : r.tokens) t = c.Str();
      }
    }
    if (c.bad) break;
    out->push_back(std::move(r));
  }
  if (c.bad) {
    *error = path + ": truncated record after " + std::to_string(out->size()) + " records";
    return false;
  }
  return true;
}

}  // namespace mbert::testing
