// Tokenizer API: truncation, the TemplateProcessing post-processor, padding, batches, lookups.
// Order and arithmetic follow HF `TokenizerImpl::post_process`: truncate each sequence (the budget
// excludes the template's special tokens), apply the template, then pad.
#include "mbert/tokenizer.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <thread>

#include "tokenizer/encode.h"
#include "tokenizer/model.h"

namespace mbert {
namespace {

using tok::Model;

void TruncateOne(Encoding* e, size_t keep, Side side) {
  const size_t n = e->ids.size();
  if (keep >= n) return;
  auto cut = [&](auto& v) {
    if (side == Side::kRight) {
      v.resize(keep);
    } else {
      v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n - keep));
    }
  };
  cut(e->ids);
  cut(e->tokens);
  cut(e->offsets);
}

size_t SpecialCount(const std::vector<tok::TemplatePiece>& t) {
  size_t n = 0;
  for (const auto& p : t)
    if (!p.is_sequence) n += p.ids.size();
  return n;
}

// HF truncate_encodings with the max length already reduced by the special tokens.
Status Truncate(const TruncationOptions& o, size_t max_len, Encoding* a, Encoding* b) {
  if (max_len == 0) {  // HF empties both sequences whatever the strategy
    TruncateOne(a, 0, o.side);
    if (b) TruncateOne(b, 0, o.side);
    return Status::Ok();
  }
  const size_t n1 = a->ids.size(), n2 = b ? b->ids.size() : 0;
  const size_t total = n1 + n2;
  if (total <= max_len) return Status::Ok();
  const size_t to_remove = total - max_len;
  if (o.strategy == TruncationStrategy::kLongestFirst) {
    if (!b) {
      TruncateOne(a, max_len, o.side);
      return Status::Ok();
    }
    size_t s1 = n1, s2 = n2;
    const bool swap = s1 > s2;
    if (swap) std::swap(s1, s2);
    if (s1 > max_len / 2) {
      s1 = max_len / 2;
      s2 = s1 + max_len % 2;
    } else {
      s2 = max_len - s1;
    }
    if (swap) std::swap(s1, s2);
    TruncateOne(a, s1, o.side);
    TruncateOne(b, s2, o.side);
    return Status::Ok();
  }
  Encoding* target = o.strategy == TruncationStrategy::kOnlyFirst ? a : b;
  if (!target)
    return Status::Error(
        "truncation strategy only_second needs a text pair; use longest_first or only_first");
  if (target->ids.size() <= to_remove)
    return Status::Error(
        "truncation: the " +
        std::string(o.strategy == TruncationStrategy::kOnlyFirst ? "first" : "second") +
        " sequence is too short to remove " + std::to_string(to_remove) +
        " tokens; raise max_length or use longest_first");
  TruncateOne(target, target->ids.size() - to_remove, o.side);
  return Status::Ok();
}

// Moves the sequence's tokens into *out (each sequence appears once in a template).
void AppendSeq(Encoding& s, int32_t type_id, int32_t seq, Encoding* out) {
  out->ids.insert(out->ids.end(), s.ids.begin(), s.ids.end());
  if (out->tokens.empty()) {
    out->tokens = std::move(s.tokens);
  } else {
    out->tokens.insert(out->tokens.end(), std::make_move_iterator(s.tokens.begin()),
                       std::make_move_iterator(s.tokens.end()));
  }
  out->offsets.insert(out->offsets.end(), s.offsets.begin(), s.offsets.end());
  out->type_ids.insert(out->type_ids.end(), s.ids.size(), type_id);
  out->special_tokens_mask.insert(out->special_tokens_mask.end(), s.ids.size(), 0);
  out->attention_mask.insert(out->attention_mask.end(), s.ids.size(), 1);
  out->sequence_ids.insert(out->sequence_ids.end(), s.ids.size(), seq);
}

Encoding PostProcess(const Model& m, Encoding& a, Encoding* b, bool add_special) {
  Encoding out;
  if (!m.has_template) {
    AppendSeq(a, 0, 0, &out);
    if (b) AppendSeq(*b, 0, 1, &out);
    return out;
  }
  int uses[2] = {0, 0};
  for (const tok::TemplatePiece& p : b ? m.pair : m.single)
    if (p.is_sequence) ++uses[p.sequence];
  for (const tok::TemplatePiece& p : b ? m.pair : m.single) {
    if (p.is_sequence) {
      Encoding& src = p.sequence == 0 ? a : *b;
      if (uses[p.sequence] > 1) {
        Encoding copy = src;  // a template repeating $A/$B: keep the original for the next use
        AppendSeq(copy, p.type_id, p.sequence, &out);
      } else {
        AppendSeq(src, p.type_id, p.sequence, &out);
      }
    } else if (add_special) {
      for (size_t k = 0; k < p.ids.size(); ++k) {
        out.ids.push_back(p.ids[k]);
        out.tokens.push_back(p.tokens[k]);
        out.offsets.emplace_back(0, 0);
        out.type_ids.push_back(p.type_id);
        out.special_tokens_mask.push_back(1);
        out.attention_mask.push_back(1);
        out.sequence_ids.push_back(-1);
      }
    }
  }
  return out;
}

// HF pad_encodings: the target (fixed length, or the batch's longest) is rounded up to the
// multiple first; encodings already at least that long are left alone.
Status Pad(const Model& m, const PaddingOptions& o, size_t target, Encoding* e) {
  if (o.multiple_of > 0 && target % o.multiple_of != 0)
    target += o.multiple_of - target % o.multiple_of;
  if (e->ids.size() >= target) return Status::Ok();
  if (m.pad < 0)
    return Status::Error(
        "padding: the tokenizer has no [PAD], <pad> or <|padding|> token; disable padding");
  const size_t k = target - e->ids.size();
  auto grow = [&](auto& v, auto value) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    if (o.side == Side::kRight) {
      v.insert(v.end(), k, static_cast<T>(value));
    } else {
      v.insert(v.begin(), k, static_cast<T>(value));
    }
  };
  grow(e->ids, m.pad);
  grow(e->tokens, m.pad_token);
  grow(e->offsets, std::pair<uint32_t, uint32_t>(0, 0));
  grow(e->type_ids, 0);
  grow(e->special_tokens_mask, 1);
  grow(e->attention_mask, 0);
  grow(e->sequence_ids, -1);
  return Status::Ok();
}

Result<Encoding> EncodeNoPad(const Model& m, std::string_view a, const std::string_view* b,
                             const EncodeOptions& o) {
  Encoding ea, eb;
  MBERT_RETURN_IF_ERROR(tok::EncodeSequence(m, a, &ea));
  if (b) MBERT_RETURN_IF_ERROR(tok::EncodeSequence(m, *b, &eb).Wrap("text_pair"));
  if (o.truncation.enabled) {
    size_t max_len = o.truncation.max_length;
    const size_t specials =
        (o.add_special_tokens && m.has_template) ? SpecialCount(b ? m.pair : m.single) : 0;
    if (max_len < specials)
      return Status::Error("truncation: max_length " + std::to_string(max_len) +
                           " is smaller than the " + std::to_string(specials) +
                           " special tokens the template adds");
    max_len -= specials;
    MBERT_RETURN_IF_ERROR(Truncate(o.truncation, max_len, &ea, b ? &eb : nullptr));
  }
  return PostProcess(m, ea, b ? &eb : nullptr, o.add_special_tokens);
}

}  // namespace

Result<Encoding> Tokenizer::Encode(std::string_view text, const EncodeOptions& opts) const {
  MBERT_ASSIGN_OR_RETURN(Encoding e, EncodeNoPad(*m_, text, nullptr, opts));
  if (opts.padding.enabled)
    MBERT_RETURN_IF_ERROR(
        Pad(*m_, opts.padding, opts.padding.length ? opts.padding.length : e.size(), &e));
  return e;
}

Result<Encoding> Tokenizer::EncodePair(std::string_view a, std::string_view b,
                                       const EncodeOptions& opts) const {
  MBERT_ASSIGN_OR_RETURN(Encoding e, EncodeNoPad(*m_, a, &b, opts));
  if (opts.padding.enabled)
    MBERT_RETURN_IF_ERROR(
        Pad(*m_, opts.padding, opts.padding.length ? opts.padding.length : e.size(), &e));
  return e;
}

std::vector<Result<Encoding>> Tokenizer::EncodeBatch(const std::vector<TextPair>& inputs,
                                                     const EncodeOptions& opts, int threads) const {
  std::vector<Result<Encoding>> out(inputs.size(), Result<Encoding>(Status::Error("not encoded")));
#ifdef _OPENMP
  if (threads <= 0) threads = omp_get_max_threads();
#endif
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(
      std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(1, inputs.size())));
  // OpenMP rather than fresh std::threads: its workers persist across calls, so each keeps its
  // warm per-thread BPE word cache (encode.cpp) from one batch to the next.
  const auto n = static_cast<std::ptrdiff_t>(inputs.size());
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const TextPair& in = inputs[static_cast<size_t>(i)];
    out[static_cast<size_t>(i)] =
        EncodeNoPad(*m_, in.text, in.has_pair ? &in.text_pair : nullptr, opts);
  }
  if (opts.padding.enabled) {
    size_t target = opts.padding.length;
    if (target == 0)
      for (const auto& r : out)
        if (r.ok()) target = std::max(target, r.value().size());
    for (auto& r : out) {
      if (!r.ok()) continue;
      const Status st = Pad(*m_, opts.padding, target, &r.value());
      if (!st.ok()) r = Result<Encoding>(st);
    }
  }
  return out;
}

int32_t Tokenizer::TokenToId(std::string_view token) const {
  const auto it = m_->added_by_content.find(std::string(token));
  if (it != m_->added_by_content.end()) return it->second;
  return m_->bpe.TokenToId(token);
}

std::string Tokenizer::IdToToken(int32_t id) const {
  const auto it = m_->added_by_id.find(id);
  if (it != m_->added_by_id.end()) return m_->added[static_cast<size_t>(it->second)].content;
  return m_->bpe.HasId(id) ? std::string(m_->bpe.IdToToken(id)) : std::string();
}

size_t Tokenizer::vocab_size() const { return m_->vocab_size; }
bool Tokenizer::IsSpecial(int32_t id) const {
  const auto it = m_->added_by_id.find(id);
  return it != m_->added_by_id.end() && m_->added[static_cast<size_t>(it->second)].special;
}
int32_t Tokenizer::cls_id() const { return m_->cls; }
int32_t Tokenizer::sep_id() const { return m_->sep; }
int32_t Tokenizer::pad_id() const { return m_->pad; }
int32_t Tokenizer::mask_id() const { return m_->mask; }
int32_t Tokenizer::unk_id() const { return m_->unk; }

}  // namespace mbert
