#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <algorithm>

#include "tokenizer/utf8.h"

namespace mbert::tok {
namespace {

constexpr CharClass L = CharClass::kLetter, N = CharClass::kNumber, S = CharClass::kSpace,
                    O = CharClass::kOther;

// Hangul vowel and trailing jamo compose with a preceding syllable or leading jamo although their
// utf8proc entry has no composition index (Hangul composition is algorithmic).
bool IsHangulSecond(uint32_t cp) {
  return (cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A8 && cp <= 0x11C2);
}

// A character NFC can neither change nor merge into the previous character: a starter with no
// canonical decomposition that is never the second element of a primary composite.
bool IsNfcStable(uint32_t cp) {
  if (cp < 0x80) return true;
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  if (p->combining_class != 0) return false;
  if (p->decomp_seqindex != UINT16_MAX) return false;
  if (p->comb_index != UINT16_MAX && (p->comb_index & 0x8000)) return false;
  if (IsHangulSecond(cp)) return false;
  // Hangul syllables decompose algorithmically (no decomp_seqindex) but recompose to themselves,
  // so they are stable on their own; a following trailing jamo is caught above.
  return true;
}

struct NfcChar {
  uint32_t cp;
  int32_t change;  // HF convention: 0 replaces one input char, +1 inserted, -k also consumes k
  uint8_t ccc;
};

uint8_t Ccc(uint32_t cp) {
  return static_cast<uint8_t>(
      utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class);
}

// Primary composite of <a, b>, or 0.
uint32_t Compose(uint32_t a, uint32_t b) {
  utf8proc_int32_t buf[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
  const utf8proc_ssize_t n = utf8proc_normalize_utf32(buf, 2, UTF8PROC_COMPOSE);
  return n == 1 ? static_cast<uint32_t>(buf[0]) : 0;
}

}  // namespace

// clang-format off
const CharClass kAsciiClass[128] = {
  O,O,O,O,O,O,O,O,O,S,S,S,S,S,O,O, O,O,O,O,O,O,O,O,O,O,O,O,O,O,O,O,
  S,O,O,O,O,O,O,O,O,O,O,O,O,O,O,O, N,N,N,N,N,N,N,N,N,N,O,O,O,O,O,O,
  O,L,L,L,L,L,L,L,L,L,L,L,L,L,L,L, L,L,L,L,L,L,L,L,L,L,L,O,O,O,O,O,
  O,L,L,L,L,L,L,L,L,L,L,L,L,L,L,L, L,L,L,L,L,L,L,L,L,L,L,O,O,O,O,O,
};
// clang-format on

CharClass ClassifySlow(uint32_t cp) {
  if (cp < 128) return kAsciiClass[cp];
  if (cp == 0x85) return S;  // NEL: White_Space although its category is Cc
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return L;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return N;
    // White_Space = Zs + Zl + Zp + {U+0009..U+000D, U+0085}.
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return S;
    default:
      return O;
  }
}

bool NfcIsIdentity(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    int len;
    const uint32_t cp = DecodeAt(s, i, &len);
    if (!IsNfcStable(cp)) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

AlignedText NfcAligned(std::string_view s) {
  // Input characters with their byte ranges.
  std::vector<std::pair<uint32_t, uint32_t>> in_range;
  std::vector<NfcChar> seq;
  seq.reserve(s.size() + 8);
  size_t i = 0;
  utf8proc_int32_t dec[32];
  while (i < s.size()) {
    int len;
    const uint32_t cp = DecodeAt(s, i, &len);
    in_range.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(i + len));
    i += static_cast<size_t>(len);
    utf8proc_int32_t last_boundclass = 0;
    utf8proc_ssize_t k = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), dec, 32,
                                                 UTF8PROC_DECOMPOSE, &last_boundclass);
    if (k <= 0 || k > 32) {
      seq.push_back({cp, 0, Ccc(cp)});
      continue;
    }
    for (utf8proc_ssize_t j = 0; j < k; ++j) {
      const auto d = static_cast<uint32_t>(dec[j]);
      seq.push_back({d, j == 0 ? 0 : 1, Ccc(d)});
    }
  }
  // Canonical ordering: stable sort each run of non-starters by combining class.
  for (size_t a = 0; a < seq.size();) {
    if (seq[a].ccc == 0) {
      ++a;
      continue;
    }
    size_t b = a;
    while (b < seq.size() && seq[b].ccc != 0) ++b;
    std::stable_sort(seq.begin() + static_cast<std::ptrdiff_t>(a),
                     seq.begin() + static_cast<std::ptrdiff_t>(b),
                     [](const NfcChar& x, const NfcChar& y) { return x.ccc < y.ccc; });
    a = b;
  }
  // Canonical composition (UAX #15 D117); a composed character takes over the change of the one
  // it absorbs, minus one for the character that disappears.
  std::vector<NfcChar> out;
  out.reserve(seq.size());
  ptrdiff_t starter = -1;
  uint8_t last_ccc = 0;
  for (const NfcChar& c : seq) {
    if (starter >= 0) {
      const bool adjacent = static_cast<ptrdiff_t>(out.size()) - 1 == starter;
      if (adjacent || (last_ccc != 0 && last_ccc < c.ccc)) {
        const uint32_t p = Compose(out[static_cast<size_t>(starter)].cp, c.cp);
        if (p != 0) {
          NfcChar& st = out[static_cast<size_t>(starter)];
          st.cp = p;
          st.change += c.change - 1;
          continue;
        }
      }
    }
    out.push_back(c);
    if (c.ccc == 0) {
      starter = static_cast<ptrdiff_t>(out.size()) - 1;
      last_ccc = 0;
    } else {
      last_ccc = c.ccc;
    }
  }
  // Alignments by sequential consumption of the input characters.
  AlignedText r;
  r.text.reserve(s.size() + 8);
  size_t consumed = 0;  // input characters consumed so far
  for (const NfcChar& c : out) {
    std::pair<uint32_t, uint32_t> al;
    if (c.change > 0) {
      al = consumed == 0 ? std::pair<uint32_t, uint32_t>{0, 0} : in_range[consumed - 1];
    } else {
      al = consumed < in_range.size() ? in_range[consumed] : in_range.back();
      consumed += static_cast<size_t>(1 - c.change);
    }
    const size_t before = r.text.size();
    AppendUtf8(c.cp, &r.text);
    r.align.insert(r.align.end(), r.text.size() - before, al);
  }
  return r;
}

}  // namespace mbert::tok
