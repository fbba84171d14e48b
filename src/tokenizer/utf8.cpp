#include "tokenizer/utf8.h"

#include <cstdio>
#include <cstring>

namespace mbert::tok {
namespace {

// Length of the longest prefix of s[i..] that is a valid beginning of a UTF-8 sequence
// (Unicode Table 3-7), and whether it is complete. Returns 0 when s[i] cannot start one.
int ScanSequence(const unsigned char* p, size_t avail, bool* complete) {
  const unsigned char b = p[0];
  int need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b < 0x80) {
    *complete = true;
    return 1;
  } else if (b >= 0xC2 && b <= 0xDF) {
    need = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    *complete = false;
    return 0;
  }
  int got = 1;
  for (int k = 1; k < need; ++k) {
    if (static_cast<size_t>(k) >= avail) break;
    const unsigned char c = p[k];
    const bool ok = (k == 1) ? (c >= lo && c <= hi) : IsContinuation(c);
    if (!ok) break;
    ++got;
  }
  *complete = (got == need);
  return got;
}

}  // namespace

bool IsAscii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size(), i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) return false;
  }
  for (; i < n; ++i)
    if (static_cast<unsigned char>(p[i]) >= 0x80) return false;
  return true;
}

size_t FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      // Skip ASCII eight bytes at a time.
      if (i + 8 <= n) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (!(w & 0x8080808080808080ull)) {
          i += 8;
          continue;
        }
      }
      ++i;
      continue;
    }
    bool complete;
    const int len = ScanSequence(p + i, n - i, &complete);
    if (!complete) return i;
    i += static_cast<size_t>(len);
  }
  return std::string_view::npos;
}

Status ValidateUtf8(std::string_view s, std::string_view what) {
  const size_t bad = FindInvalidUtf8(s);
  if (bad == std::string_view::npos) return Status::Ok();
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02X", static_cast<unsigned char>(s[bad]));
  return Status::Error(std::string(what) + ": invalid UTF-8 at byte " + std::to_string(bad) +
                       " (byte " + hex +
                       "); the tokenizer accepts UTF-8 text only, re-encode the input");
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string Utf8Lossy(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  std::string out;
  out.reserve(n);
  size_t i = 0;
  while (i < n) {
    bool complete;
    const int len = ScanSequence(p + i, n - i, &complete);
    if (complete) {
      out.append(bytes.data() + i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else {
      out.append("\xEF\xBF\xBD");  // one U+FFFD per maximal ill-formed subpart
      i += static_cast<size_t>(len == 0 ? 1 : len);
    }
  }
  return out;
}

CharOffsets::CharOffsets(std::string_view s) {
  ascii_ = IsAscii(s);
  if (ascii_) return;
  map_.resize(s.size() + 1);
  uint32_t c = 0;
  for (size_t b = 0; b < s.size(); ++b) {
    // A continuation byte belongs to the character started before it.
    if (!IsContinuation(static_cast<unsigned char>(s[b]))) {
      map_[b] = c++;
    } else {
      map_[b] = c - 1;
    }
  }
  map_[s.size()] = c;
}

}  // namespace mbert::tok
