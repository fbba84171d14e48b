#include "tokenizer/pretokenizer.h"

#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace mbert::tok {
namespace {

struct Cursor {
  std::string_view s;
  // Class and byte length of the character at byte i (i < size).
  CharClass At(size_t i, int* len) const {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      *len = 1;
      return kAsciiClass[b];
    }
    return ClassifySlow(DecodeAt(s, i, len));
  }
  // End of the run of class k starting at i.
  size_t RunEnd(size_t i, CharClass k) const {
    while (i < s.size()) {
      int len;
      if (At(i, &len) != k) break;
      i += static_cast<size_t>(len);
    }
    return i;
  }
};

// Length of a contraction ('s 't 'm 'd 're 've 'll; lowercase only, as the pattern) at s[i], or 0.
size_t Contraction(std::string_view s, size_t i) {
  if (i + 1 >= s.size()) return 0;
  const char a = s[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= s.size()) return 0;
  const char b = s[i + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

}  // namespace

void SplitGpt2(std::string_view s, std::vector<Span>* out) {
  const Cursor cur{s};
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (s[i] == '\'') {
      const size_t c = Contraction(s, i);
      if (c) {
        out->push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(i + c)});
        i += c;
        continue;
      }
    }
    int len;
    CharClass k = cur.At(i, &len);
    size_t start = i, body = i;
    if (s[i] == ' ' && i + 1 < n) {
      // " ?X+" alternatives: the optional space joins a following letter/number/other run.
      int len2;
      const CharClass k2 = cur.At(i + 1, &len2);
      if (k2 != CharClass::kSpace) {
        k = k2;
        body = i + 1;
        len = len2;
      }
    }
    if (k != CharClass::kSpace) {
      const size_t end = cur.RunEnd(body + static_cast<size_t>(len), k);
      out->push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
      i = end;
      continue;
    }
    // Whitespace run: "\s+(?!\S)" keeps the last space for the next word unless the run ends the
    // text; a single space before a word falls to "\s+".
    size_t last = i, j = i;
    while (j < n) {
      int l;
      if (cur.At(j, &l) != CharClass::kSpace) break;
      last = j;
      j += static_cast<size_t>(l);
    }
    const size_t end = (j == n || last == i) ? j : last;
    out->push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
    i = end;
  }
}

}  // namespace mbert::tok
