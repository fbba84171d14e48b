#include "tokenizer/encode.h"

#include <unordered_map>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace mbert::tok {
namespace {

// Per-thread memo of BPE results per word: most words of running text repeat, and the tokenizer
// is shared const across threads, so each thread keeps its own. Keyed by model instance.
struct WordCache {
  static constexpr size_t kMaxWordBytes = 64;
  static constexpr size_t kMaxEntries = 1 << 16;
  uint64_t instance = 0;
  std::unordered_map<std::string, std::vector<BpeToken>> map;
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
    if (cache.instance != m.instance) {
      cache.map.clear();
      cache.instance = m.instance;
    }
    cache_ = &cache;
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
  void Emit(int32_t id, std::string token, size_t orig_begin, size_t orig_end) {
    out_->ids.push_back(id);
    out_->tokens.push_back(std::move(token));
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
      const std::vector<BpeToken>* toks = Bpe(word);
      for (const BpeToken& t : *toks) {
        const size_t wb = begin + sp.begin;
        const auto [ob, oe] = MapRange(np, wb + t.begin, wb + t.end);
        Emit(t.id, m_.bpe.IdToToken(t.id), ob, oe);
      }
    }
  }

  const std::vector<BpeToken>* Bpe(std::string_view word) {
    if (word.size() > WordCache::kMaxWordBytes) {
      scratch_.clear();
      m_.bpe.TokenizeWord(word, &scratch_);
      return &scratch_;
    }
    key_.assign(word.data(), word.size());
    auto it = cache_->map.find(key_);
    if (it != cache_->map.end()) return &it->second;
    if (cache_->map.size() >= WordCache::kMaxEntries) cache_->map.clear();
    std::vector<BpeToken> toks;
    m_.bpe.TokenizeWord(word, &toks);
    return &cache_->map.emplace(key_, std::move(toks)).first->second;
  }

  const Model& m_;
  std::string_view text_;
  CharOffsets chars_;
  Encoding* out_;
  WordCache* cache_;
  std::vector<AddedSplit> raw_;
  std::vector<Span> spans_;
  std::vector<BpeToken> scratch_;
  std::string key_;
};

}  // namespace

Status EncodeSequence(const Model& m, std::string_view text, Encoding* out) {
  *out = Encoding{};
  MBERT_RETURN_IF_ERROR(ValidateUtf8(text, "tokenizer input"));
  SequenceEncoder(m, text, out).Run();
  return Status::Ok();
}

}  // namespace mbert::tok
