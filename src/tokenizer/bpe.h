// Byte-level BPE model (HF `models::bpe::BPE` without dropout): a word is the UTF-8 bytes of one
// pre-token; its initial symbols are the vocabulary ids of the bytes' ByteLevel characters, then
// the merge of lowest rank (leftmost on ties) is applied until none applies, as HF's
// Word::merge_all does with its heap.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mbert/status.h"

namespace mbert::tok {

// A token of one word: vocabulary id and the byte range [begin, end) it covers in the word.
struct BpeToken {
  int32_t id;
  uint32_t begin, end;
};

// Open-addressing map (left id, right id) -> (rank, merged id), the hot lookup of BPE.
class MergeTable {
 public:
  void Reserve(size_t n);
  void Insert(int32_t a, int32_t b, int32_t rank, int32_t merged);
  // False when <a, b> is not a merge.
  bool Find(int32_t a, int32_t b, int32_t* rank, int32_t* merged) const {
    const uint64_t key = Key(a, b);
    size_t h = Hash(key) & mask_;
    while (true) {
      const Slot& s = slots_[h];
      if (s.key == key) {
        *rank = s.rank;
        *merged = s.merged;
        return true;
      }
      if (s.key == kEmpty) return false;
      h = (h + 1) & mask_;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static size_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = 0, merged = 0;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

struct BpeConfig {
  bool byte_fallback = false;
  bool ignore_merges = false;
  int32_t unk_id = -1;  // -1: none
  bool fuse_unk = false;
};

class Bpe {
 public:
  // `vocab` token -> id; merges as pairs of token strings in rank order. `origin` names the file.
  Status Init(std::unordered_map<std::string, int32_t> vocab,
              const std::vector<std::pair<std::string, std::string>>& merges, BpeConfig cfg,
              const std::string& origin);

  // Tokenizes one word (raw bytes; the model sees their ByteLevel characters). Appends to *out.
  void TokenizeWord(std::string_view word, std::vector<BpeToken>* out) const;

  int32_t TokenToId(std::string_view token) const;
  const std::string& IdToToken(int32_t id) const { return id_to_token_[static_cast<size_t>(id)]; }
  bool HasId(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < id_to_token_.size() &&
           has_id_[static_cast<size_t>(id)];
  }
  size_t size() const { return vocab_.size(); }
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }

 private:
  void MergeSymbols(std::string_view word, std::vector<BpeToken>* out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> has_id_;
  MergeTable merges_;
  int32_t byte_id_[256];  // id of each byte's ByteLevel character, or -1
  int32_t byte_fallback_id_[256];
  BpeConfig cfg_;
};

}  // namespace mbert::tok
