#include "tokenizer/encode.h"

#include <cstring>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace mbert::tok {
namespace {

// Per-thread memo of BPE results per word: most words of running text repeat, and the tokenizer
// is shared const across threads, so each thread keeps its own, keyed by model instance. Open
// addressing over two arenas (word bytes, tokens). The table starts small and doubles when half
// full, up to kMaxSlots (1 MiB), then it is emptied: a thread that tokenizes little keeps a small
// cache. (A server's hundreds of handler threads each held the full 1 MiB table: +216 MB of RSS
// over a serving soak before every thread had tokenized once.)
class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 64;
  static constexpr size_t kMinSlots = size_t{1} << 10;
  static constexpr size_t kMaxSlots = size_t{1} << 16;

  void Reset(uint64_t instance) {
    instance_ = instance;
    slots_.assign(kMinSlots, Slot{});
    keys_.clear();
    toks_.clear();
    used_ = 0;
  }
  uint64_t instance() const { return instance_; }

  static uint64_t Hash(std::string_view w) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (w.size() * 0xff51afd7ed558ccdull);
    size_t i = 0;
    for (; i + 8 <= w.size(); i += 8) {
      uint64_t c;
      std::memcpy(&c, w.data() + i, 8);
      h = (h ^ c) * 0xbf58476d1ce4e5b9ull;
      h ^= h >> 31;
    }
    if (i < w.size()) {
      uint64_t c = 0;
      std::memcpy(&c, w.data() + i, w.size() - i);
      h = (h ^ c) * 0x94d049bb133111ebull;
      h ^= h >> 29;
    }
    return h;
  }

  // Tokens of `word` (size <= kMaxWordBytes), computing them with `bpe` on a miss.
  std::pair<const BpeToken*, size_t> Get(std::string_view word, const Bpe& bpe) {
    const uint64_t h = Hash(word);
    size_t i = Find(word, h);
    const Slot& found = slots_[i];
    if (found.key_len != 0) return {toks_.data() + found.tok_off, found.ntok};
    if (used_ * 2 >= slots_.size()) {
      if (slots_.size() < kMaxSlots) {
        Grow();
      } else {
        Reset(instance_);
      }
      return Get(word, bpe);
    }
    const size_t tok_off = toks_.size();
    bpe.TokenizeWord(word, &toks_);
    Slot& s = slots_[i];
    s.hash = static_cast<uint32_t>(h >> 32);
    s.key_off = static_cast<uint32_t>(keys_.size());
    s.key_len = static_cast<uint16_t>(word.size());
    s.tok_off = static_cast<uint32_t>(tok_off);
    s.ntok = static_cast<uint16_t>(toks_.size() - tok_off);
    keys_.append(word);
    ++used_;
    return {toks_.data() + tok_off, s.ntok};
  }

 private:
  // The slot holding `word` (hash h), or the empty slot where it would go.
  size_t Find(std::string_view word, uint64_t h) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key_len == 0) return i;
      if (s.hash == static_cast<uint32_t>(h >> 32) && s.key_len == word.size() &&
          std::memcmp(keys_.data() + s.key_off, word.data(), word.size()) == 0)
        return i;
    }
  }

  // Doubles the table; the arenas stay, each entry moves to its slot in the larger table.
  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.key_len == 0) continue;
      const std::string_view key(keys_.data() + s.key_off, s.key_len);
      slots_[Find(key, Hash(key))] = s;
    }
  }

  // 16 bytes so that the largest table (1 MiB) stays in L2.
  struct Slot {
    uint32_t hash = 0;
    uint32_t key_off = 0, tok_off = 0;
    uint16_t key_len = 0, ntok = 0;  // key_len 0: empty (words are never empty)
  };
  uint64_t instance_ = ~0ull;
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<BpeToken> toks_;
  size_t used_ = 0;
};

// Text of one piece after normalization, and how its bytes map back to the original text.
struct NormPiece {
  std::string_view text;
  const std::vector<std::pair<uint32_t, uint32_t>>* align = nullptr;  // null: identity
  size_t base = 0;  // offset of the piece in the original text
};

class SequenceEncoder {
 public:
  SequenceEncoder(const Model& m, std::string_view text, Encoding* out)
      : m_(m), text_(text), chars_(text), out_(out) {
    thread_local WordCache cache;
    if (cache.instance() != m.instance) cache.Reset(m.instance);
    cache_ = &cache;
    // Roughly one token per four bytes of English; avoids regrowing the vectors.
    const size_t guess = text.size() / 4 + 8;
    out->ids.reserve(guess);
    out->tokens.reserve(guess);
    out->offsets.reserve(guess);
  }

  void Run() {
    raw_.clear();
    if (m_.raw_matcher.empty()) {
      if (!text_.empty()) raw_.push_back({-1, 0, static_cast<uint32_t>(text_.size())});
    } else {
      m_.raw_matcher.Split(text_, &raw_);
    }
    for (const AddedSplit& sp : raw_) {
      if (sp.token >= 0) {
        Emit(m_.added[static_cast<size_t>(sp.token)].id,
             std::string(text_.substr(sp.begin, sp.end - sp.begin)), sp.begin, sp.end);
      } else {
        NormalizeAndEncode(sp.begin, sp.end);
      }
    }
  }

 private:
  template <typename S>
  void Emit(int32_t id, S&& token, size_t orig_begin, size_t orig_end) {
    out_->ids.push_back(id);
    out_->tokens.emplace_back(std::forward<S>(token));
    out_->offsets.emplace_back(chars_(orig_begin), chars_(orig_end));
  }

  // Original byte range covered by bytes [b, e) of a normalized piece: from the start of the
  // character holding b to the end of the character holding e-1 (HF NormalizedString alignments).
  std::pair<size_t, size_t> MapRange(const NormPiece& p, size_t b, size_t e) const {
    if (p.align) return {p.base + (*p.align)[b].first, p.base + (*p.align)[e - 1].second};
    size_t s = p.base + b, t = p.base + e;
    while (s > 0 && IsContinuation(static_cast<unsigned char>(text_[s]))) --s;
    while (t < text_.size() && IsContinuation(static_cast<unsigned char>(text_[t]))) ++t;
    return {s, t};
  }

  void NormalizeAndEncode(size_t begin, size_t end) {
    const std::string_view piece = text_.substr(begin, end - begin);
    NormPiece np{piece, nullptr, begin};
    AlignedText aligned;
    if (m_.nfc && !IsAscii(piece) && !NfcIsIdentity(piece)) {
      aligned = NfcAligned(piece);
      np.text = aligned.text;
      np.align = &aligned.align;
    }
    if (m_.norm_matcher.empty()) {
      PreTokenizeAndEncode(np, 0, np.text.size());
      return;
    }
    std::vector<AddedSplit> splits;
    m_.norm_matcher.Split(np.text, &splits);
    for (const AddedSplit& sp : splits) {
      if (sp.token >= 0) {
        const auto [ob, oe] = MapRange(np, sp.begin, sp.end);
        Emit(m_.added[static_cast<size_t>(sp.token)].id,
             std::string(np.text.substr(sp.begin, sp.end - sp.begin)), ob, oe);
      } else {
        PreTokenizeAndEncode(np, sp.begin, sp.end);
      }
    }
  }

  void PreTokenizeAndEncode(const NormPiece& np, size_t begin, size_t end) {
    if (begin == end) return;
    if (m_.add_prefix_space && np.text[begin] != ' ') {
      // HF prepends " " to the split; the space takes the first character's alignment and the
      // first character is then "inserted" with the same alignment.
      AlignedText with;
      with.text.reserve(end - begin + 1);
      with.text.push_back(' ');
      with.text.append(np.text.substr(begin, end - begin));
      int first_len;
      DecodeAt(np.text, begin, &first_len);
      const auto first = MapRange(np, begin, begin + static_cast<size_t>(first_len));
      with.align.push_back(
          {static_cast<uint32_t>(first.first), static_cast<uint32_t>(first.second)});
      for (size_t b = begin; b < end; ++b) {
        const auto r = MapRange(np, b, b + 1);
        with.align.push_back({static_cast<uint32_t>(r.first), static_cast<uint32_t>(r.second)});
      }
      const NormPiece wp{with.text, &with.align, 0};
      Words(wp, 0, with.text.size());
      return;
    }
    Words(np, begin, end);
  }

  void Words(const NormPiece& np, size_t begin, size_t end) {
    const std::string_view sub = np.text.substr(begin, end - begin);
    spans_.clear();
    if (m_.use_regex) {
      SplitGpt2(sub, &spans_);
    } else {
      spans_.push_back({0, static_cast<uint32_t>(sub.size())});
    }
    for (const Span& sp : spans_) {
      const std::string_view word = sub.substr(sp.begin, sp.end - sp.begin);
      const size_t wb = begin + sp.begin;
      if (word.size() > WordCache::kMaxWordBytes) {
        scratch_.clear();
        m_.bpe.TokenizeWord(word, &scratch_);
        for (const BpeToken& t : scratch_) EmitBpe(np, wb, t);
      } else {
        // Copy out first: a miss may grow the cache's token arena.
        const auto [toks, n] = cache_->Get(word, m_.bpe);
        for (size_t k = 0; k < n; ++k) EmitBpe(np, wb, toks[k]);
      }
    }
  }

  void EmitBpe(const NormPiece& np, size_t word_begin, const BpeToken& t) {
    const auto [ob, oe] = MapRange(np, word_begin + t.begin, word_begin + t.end);
    Emit(t.id, m_.bpe.IdToToken(t.id), ob, oe);
  }

  const Model& m_;
  std::string_view text_;
  CharOffsets chars_;
  Encoding* out_;
  WordCache* cache_;
  std::vector<AddedSplit> raw_;
  std::vector<Span> spans_;
  std::vector<BpeToken> scratch_;
};

}  // namespace

Status EncodeSequence(const Model& m, std::string_view text, Encoding* out) {
  *out = Encoding{};
  MBERT_RETURN_IF_ERROR(ValidateUtf8(text, "tokenizer input"));
  SequenceEncoder(m, text, out).Run();
  return Status::Ok();
}

}  // namespace mbert::tok
