// manifest.json of a prepared corpus directory: what `mbert data prepare` read, what it kept and
// where the shards are. Written with sorted keys and no timestamps or thread counts, so two runs
// on the same input with the same seed write identical bytes.
//
//   {
//     "format": "mbert-corpus", "version": 1,
//     "tokenizer": {"sha256": "<hex of tokenizer.json>", "vocab_size": 50368},
//     "seed": 0, "val_fraction": 0.01, "shard_tokens": 67108864, "max_seq_len": 1024,
//     "dedup": "<method, dedup.h>",
//     "sources": [{"name": "python", "path": "...", "globs": ["*.py"], "files": 10, "bytes": 12345,
//                  "documents": 120,          // documents found, before dropping
//                  "dropped_empty": 3, "dropped_duplicate": 5, "dropped_invalid": 0,
//                  "train": {"documents": 110, "sequences": 130, "tokens": 99999},
//                  "val":   {"documents": 2,   "sequences": 2,   "tokens": 999}}],
//     "shards": [{"file": "python.train.00000.mbshard", "source": "python", "split": "train",
//                 "sequences": 130, "tokens": 99999, "sha256": "<hex, as in the header>"}]
//   }
// A document longer than max_seq_len becomes several sequences ([CLS] ... [SEP] windows).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert::corpus {

inline constexpr const char* kManifestFile = "manifest.json";

struct SplitCounts {
  uint64_t documents = 0;
  uint64_t sequences = 0;
  uint64_t tokens = 0;
};

struct SourceEntry {
  std::string name;
  std::string path;
  std::vector<std::string> globs;
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t documents = 0;
  uint64_t dropped_empty = 0;
  uint64_t dropped_duplicate = 0;
  uint64_t dropped_invalid = 0;
  SplitCounts train, val;
};

struct ShardEntry {
  std::string file;    // relative to the corpus directory, a plain file name
  std::string source;  // a SourceEntry name
  std::string split;   // "train" or "val"
  uint64_t sequences = 0;
  uint64_t tokens = 0;
  std::string sha256;
};

struct Manifest {
  std::string tokenizer_sha256;
  uint32_t vocab_size = 0;
  uint64_t seed = 0;
  double val_fraction = 0;
  uint64_t shard_tokens = 0;
  uint32_t max_seq_len = 0;
  std::string dedup;
  std::vector<SourceEntry> sources;
  std::vector<ShardEntry> shards;

  nlohmann::json ToJson() const;
  // Validates every field and the cross-references (each shard's source exists, per-source
  // counts equal the sum of that source's shards); `origin` names the file in errors.
  static Result<Manifest> FromJson(const nlohmann::json& j, const std::string& origin);
  // <dir>/manifest.json.
  static Result<Manifest> Read(const std::string& dir);
  Status Write(const std::string& dir) const;

  const SourceEntry* FindSource(const std::string& name) const;
};

}  // namespace mbert::corpus
