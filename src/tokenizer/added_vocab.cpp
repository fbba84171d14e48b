#include "tokenizer/added_vocab.h"

#include <utf8proc.h>

#include <algorithm>

#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace mbert::tok {
namespace {

// regex-syntax's Unicode \w (HF is_word_character): letters, marks, decimal and letter numbers,
// connector punctuation, and the two joiners.
bool IsWordChar(uint32_t cp) {
  if (cp < 128)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           cp == '_';
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

// Code point ending just before byte `end` of valid UTF-8 s (end > 0).
uint32_t LastChar(std::string_view s, size_t end) {
  size_t b = end - 1;
  while (b > 0 && IsContinuation(static_cast<unsigned char>(s[b]))) --b;
  int len;
  return DecodeAt(s, b, &len);
}

}  // namespace

void AddedMatcher::Build(const std::vector<AddedToken>* tokens, const std::vector<int32_t>& use) {
  tokens_ = tokens;
  nodes_.assign(1, Node{});
  for (bool& f : first_) f = false;
  for (int32_t t : use) {
    const std::string& c = (*tokens)[static_cast<size_t>(t)].content;
    if (c.empty()) continue;  // HF never matches an empty added token
    int32_t node = 0;
    for (unsigned char b : c) {
      int32_t nx = Child(node, b);
      if (nx < 0) {
        nx = static_cast<int32_t>(nodes_.size());
        nodes_[static_cast<size_t>(node)].next.emplace_back(b, nx);
        nodes_.emplace_back();
      }
      node = nx;
    }
    // Two tokens with the same content: aho-corasick reports the first pattern added.
    if (nodes_[static_cast<size_t>(node)].token < 0) nodes_[static_cast<size_t>(node)].token = t;
    first_[static_cast<unsigned char>(c[0])] = true;
  }
}

int32_t AddedMatcher::Child(int32_t node, uint8_t b) const {
  for (const auto& [k, v] : nodes_[static_cast<size_t>(node)].next)
    if (k == b) return v;
  return -1;
}

void AddedMatcher::Split(std::string_view s, std::vector<AddedSplit>* out) const {
  const size_t n = s.size();
  if (n == 0) return;
  size_t start_offset = 0;  // end of the previous match (HF start_offset)
  size_t i = 0;
  while (i < n) {
    if (!first_[static_cast<unsigned char>(s[i])]) {
      ++i;
      continue;
    }
    // Longest token starting at i.
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t j = i; j < n; ++j) {
      node = Child(node, static_cast<uint8_t>(s[j]));
      if (node < 0) break;
      if (nodes_[static_cast<size_t>(node)].token >= 0) {
        best = nodes_[static_cast<size_t>(node)].token;
        best_end = j + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = (*tokens_)[static_cast<size_t>(best)];
    size_t start = i, stop = best_end;
    if (tok.single_word) {
      const bool start_ok = start == 0 || !IsWordChar(LastChar(s, start));
      int len;
      const bool stop_ok = stop == n || !IsWordChar(DecodeAt(s, stop, &len));
      if (!start_ok || !stop_ok) {
        i = best_end;  // the match is consumed even when rejected, as HF's find_iter
        continue;
      }
    }
    if (tok.lstrip) {
      // HF: start = max(leftmost whitespace start, end of the previous match).
      if (start < start_offset) start = std::min(start_offset, stop);
      size_t b = start;
      while (b > start_offset) {
        size_t c = b - 1;
        while (c > 0 && IsContinuation(static_cast<unsigned char>(s[c]))) --c;
        int len;
        if (!IsWhiteSpace(DecodeAt(s, c, &len))) break;
        b = c;
      }
      start = b;
    }
    if (tok.rstrip) {
      while (stop < n) {
        int len;
        if (!IsWhiteSpace(DecodeAt(s, stop, &len))) break;
        stop += static_cast<size_t>(len);
      }
    }
    if (start > start_offset)
      out->push_back({-1, static_cast<uint32_t>(start_offset), static_cast<uint32_t>(start)});
    // HF quirk kept on purpose: the search resumes at the end of the match itself, not after the
    // whitespace rstrip absorbed, so a token found inside that whitespace (e.g. a space-run
    // added token) is emitted too, overlapping the previous one.
    out->push_back({best, static_cast<uint32_t>(start), static_cast<uint32_t>(stop)});
    start_offset = stop;
    i = best_end;
  }
  if (start_offset < n)
    out->push_back({-1, static_cast<uint32_t>(start_offset), static_cast<uint32_t>(n)});
}

}  // namespace mbert::tok
