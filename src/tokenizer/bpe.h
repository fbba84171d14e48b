// Byte-level BPE model (HF `models::bpe::BPE` without dropout): a word is the UTF-8 bytes of one
// pre-token; its initial symbols are the vocabulary ids of the bytes' ByteLevel characters, then
// the merge of lowest rank (leftmost on ties) is applied until none applies, as HF's
// Word::merge_all does with its heap.
#pragma once

#include <cstdint>
#include <cstring>
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

// Open-addressing map string -> id over keys owned elsewhere (they must outlive the map): the
// vocabulary lookup, cheaper to build and probe than std::unordered_map<std::string, int>.
class StringIdMap {
 public:
  void Reserve(size_t n);
  void InsertOrAssign(std::string_view key, int32_t id);
  int32_t Find(std::string_view key) const {  // -1 when absent
    if (slots_.empty()) return -1;
    const uint64_t h = Hash(key);
    size_t i = static_cast<size_t>(h) & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && s.len == key.size() && std::memcmp(s.data, key.data(), key.size()) == 0)
        return s.id;
      i = (i + 1) & mask_;
    }
  }
  static uint64_t Hash(std::string_view k) {
    uint64_t h = 0xcbf29ce484222325ull ^ k.size();
    for (unsigned char c : k) h = (h ^ c) * 0x100000001b3ull;
    return h ^ (h >> 29);
  }

 private:
  struct Slot {
    const char* data = nullptr;
    uint64_t hash = 0;
    uint32_t len = 0;
    int32_t id = -1;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
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
  // `vocab` (token, id) in file order, a later duplicate token winning as in HF's HashMap; merges
  // as pairs of token strings in rank order. `origin` names the file.
  Status Init(std::vector<std::pair<std::string, int32_t>> vocab,
              const std::vector<std::pair<std::string, std::string>>& merges, BpeConfig cfg,
              const std::string& origin);

  // Tokenizes one word (raw bytes; the model sees their ByteLevel characters). Appends to *out.
  void TokenizeWord(std::string_view word, std::vector<BpeToken>* out) const;

  int32_t TokenToId(std::string_view token) const;
  void set_config(const BpeConfig& c) { cfg_ = c; }
  std::string_view IdToToken(int32_t id) const {
    const auto [off, len] = id_text_[static_cast<size_t>(id)];
    return {id_chars_.data() + off, len};
  }
  bool HasId(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < id_to_index_.size() &&
           id_to_index_[static_cast<size_t>(id)] >= 0;
  }
  int32_t max_id() const { return static_cast<int32_t>(id_to_index_.size()) - 1; }

 private:
  void MergeSymbols(std::string_view word, std::vector<BpeToken>* out) const;

  std::vector<std::string> tokens_;   // vocabulary strings in file order (the map's key storage)
  std::vector<int32_t> id_to_index_;  // id -> index into tokens_, -1 for unused ids
  // Token text by id, packed in one buffer: the encode loop reads it for every token, and a
  // compact buffer stays in cache where 50k separate strings do not.
  std::string id_chars_;
  std::vector<std::pair<uint32_t, uint32_t>> id_text_;  // (offset, length); (0, 0) for unused ids
  StringIdMap vocab_;
  MergeTable merges_;
  int32_t byte_id_[256];  // id of each byte's ByteLevel character, or -1
  int32_t byte_fallback_id_[256];
  BpeConfig cfg_;
};

}  // namespace mbert::tok
