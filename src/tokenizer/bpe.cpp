#include "tokenizer/bpe.h"

#include <cstdio>
#include <queue>

#include "tokenizer/byte_level.h"

namespace mbert::tok {

void MergeTable::Reserve(size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
}

void MergeTable::Insert(int32_t a, int32_t b, int32_t rank, int32_t merged) {
  const uint64_t key = Key(a, b);
  size_t h = Hash(key) & mask_;
  while (slots_[h].key != kEmpty && slots_[h].key != key) h = (h + 1) & mask_;
  // HF collects the merges into a HashMap in file order, so a duplicated pair keeps its last rank.
  slots_[h] = Slot{key, rank, merged};
}

void StringIdMap::Reserve(size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
}

void StringIdMap::InsertOrAssign(std::string_view key, int32_t id) {
  const uint64_t h = Hash(key);
  size_t i = static_cast<size_t>(h) & mask_;
  while (slots_[i].id >= 0) {
    Slot& s = slots_[i];
    if (s.hash == h && s.len == key.size() && std::memcmp(s.data, key.data(), key.size()) == 0) {
      s.id = id;
      return;
    }
    i = (i + 1) & mask_;
  }
  slots_[i] = Slot{key.data(), h, static_cast<uint32_t>(key.size()), id};
}

Status Bpe::Init(std::vector<std::pair<std::string, int32_t>> vocab,
                 const std::vector<std::pair<std::string, std::string>>& merges, BpeConfig cfg,
                 const std::string& origin) {
  cfg_ = cfg;
  tokens_.clear();
  tokens_.reserve(vocab.size());
  int32_t max_id = -1;
  for (auto& [tok, id] : vocab) {
    if (id < 0 || id > (1 << 28))
      return Status::Error(origin + ": model.vocab[\"" + tok + "\"] id " + std::to_string(id) +
                           " out of range");
    max_id = std::max(max_id, id);
    tokens_.push_back(std::move(tok));
  }
  // tokens_ is complete and never resized again, so the map can point into it.
  vocab_.Reserve(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) vocab_.InsertOrAssign(tokens_[i], vocab[i].second);
  id_to_index_.assign(static_cast<size_t>(max_id + 1), -1);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    // A duplicated token keeps only the id the map kept (HF builds vocab_r from its HashMap).
    if (vocab_.Find(tokens_[i]) == vocab[i].second)
      id_to_index_[static_cast<size_t>(vocab[i].second)] = static_cast<int32_t>(i);
  }
  id_text_.assign(id_to_index_.size(), {0, 0});
  id_chars_.clear();
  for (size_t id = 0; id < id_to_index_.size(); ++id) {
    if (id_to_index_[id] < 0) continue;
    const std::string& t = tokens_[static_cast<size_t>(id_to_index_[id])];
    id_text_[id] = {static_cast<uint32_t>(id_chars_.size()), static_cast<uint32_t>(t.size())};
    id_chars_ += t;
  }
  merges_.Reserve(merges.size());
  std::string joined;
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    joined.assign(a).append(b);
    const int32_t ia = vocab_.Find(a), ib = vocab_.Find(b), im = vocab_.Find(joined);
    if (ia < 0 || ib < 0)
      return Status::Error(origin + ": model.merges[" + std::to_string(r) + "] (\"" + a + "\", \"" +
                           b + "\") uses a token missing from model.vocab");
    if (im < 0)
      return Status::Error(origin + ": model.merges[" + std::to_string(r) + "] result \"" + joined +
                           "\" is missing from model.vocab");
    merges_.Insert(ia, ib, static_cast<int32_t>(r), im);
  }
  const ByteLevelTable& bl = ByteLevel();
  for (int b = 0; b < 256; ++b) {
    byte_id_[b] = TokenToId(bl.byte_to_utf8[static_cast<size_t>(b)]);
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_fallback_id_[b] = TokenToId(name);
  }
  return Status::Ok();
}

int32_t Bpe::TokenToId(std::string_view token) const { return vocab_.Find(token); }

void Bpe::TokenizeWord(std::string_view word, std::vector<BpeToken>* out) const {
  if (word.empty()) return;
  if (cfg_.ignore_merges) {
    std::string bl;
    AppendByteLevel(word, &bl);
    const int32_t id = TokenToId(bl);
    if (id >= 0) {
      out->push_back({id, 0, static_cast<uint32_t>(word.size())});
      return;
    }
  }
  MergeSymbols(word, out);
}

void Bpe::MergeSymbols(std::string_view word, std::vector<BpeToken>* out) const {
  // Initial symbols: one per byte (the ByteLevel alphabet has one character per byte). A byte
  // whose character is missing from the vocabulary becomes <0xXX> with byte_fallback, else the
  // unk token (consecutive unks fused with fuse_unk), else it is dropped, as in HF merge_word.
  const size_t base = out->size();
  for (size_t i = 0; i < word.size(); ++i) {
    const unsigned char b = static_cast<unsigned char>(word[i]);
    int32_t id = byte_id_[b];
    if (id < 0 && cfg_.byte_fallback) id = byte_fallback_id_[b];
    if (id < 0) {
      if (cfg_.unk_id < 0) continue;
      if (cfg_.fuse_unk && out->size() > base && out->back().id == cfg_.unk_id &&
          out->back().end == i) {
        out->back().end = static_cast<uint32_t>(i + 1);
        continue;
      }
      id = cfg_.unk_id;
    }
    out->push_back({id, static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)});
  }
  BpeToken* sym = out->data() + base;
  size_t n = out->size() - base;
  if (n < 2) return;
  if (n <= 48) {
    // Short words: rescan for the lowest-rank pair after each merge (cheaper than a heap here).
    while (n > 1) {
      int32_t best_rank = INT32_MAX, best_id = -1;
      size_t best = 0;
      for (size_t i = 0; i + 1 < n; ++i) {
        int32_t rank, merged;
        if (merges_.Find(sym[i].id, sym[i + 1].id, &rank, &merged) && rank < best_rank) {
          best_rank = rank;
          best_id = merged;
          best = i;
        }
      }
      if (best_id < 0) break;
      sym[best].id = best_id;
      sym[best].end = sym[best + 1].end;
      for (size_t i = best + 1; i + 1 < n; ++i) sym[i] = sym[i + 1];
      --n;
    }
    out->resize(base + n);
    return;
  }
  // Long words: doubly linked symbols and a min-heap of candidate merges (rank, position),
  // validated when popped, as HF Word::merge_all.
  struct Node {
    int32_t prev, next;
  };
  std::vector<Node> link(n);
  for (size_t i = 0; i < n; ++i)
    link[i] = {static_cast<int32_t>(i) - 1, i + 1 < n ? static_cast<int32_t>(i + 1) : -1};
  struct Cand {
    int32_t rank, pos, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int32_t p) {
    const int32_t q = link[static_cast<size_t>(p)].next;
    if (q < 0) return;
    int32_t rank, merged;
    if (merges_.Find(sym[p].id, sym[q].id, &rank, &merged)) heap.push({rank, p, merged});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  std::vector<uint8_t> dead(n, 0);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const auto p = static_cast<size_t>(c.pos);
    if (dead[p]) continue;
    const int32_t q = link[p].next;
    if (q < 0) continue;
    int32_t rank, merged;
    if (!merges_.Find(sym[p].id, sym[q].id, &rank, &merged) || merged != c.merged) continue;
    sym[p].id = merged;
    sym[p].end = sym[q].end;
    dead[static_cast<size_t>(q)] = 1;
    link[p].next = link[static_cast<size_t>(q)].next;
    if (link[p].next >= 0) link[static_cast<size_t>(link[p].next)].prev = c.pos;
    if (link[p].prev >= 0) push(link[p].prev);
    push(c.pos);
  }
  size_t w = 0;
  for (size_t i = 0; i < n; ++i)
    if (!dead[i]) sym[w++] = sym[i];
  out->resize(base + w);
}

}  // namespace mbert::tok
