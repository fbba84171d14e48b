// CorpusSampler: documents (sequences) of a prepared corpus in a deterministic, resumable order
// over a mixture of sources; what the trainer reads instead of tokenizing text.
//
// Order. Draw k (k = 0, 1, ...) picks a source with u_k = Mix64(seed ^ Mix64(k)) mapped onto the
// mixture's cumulative weights, then takes that source's next sequence. Each source walks its
// sequences (over all of its shards of the split, in manifest order) in a permutation that is
// shuffled anew each epoch (Fisher-Yates driven by Mix64(seed, source index, epoch)); a source
// that runs out starts its next epoch, so the mixture weights hold however long training runs.
// The order depends on the manifest, the mixture, the split and the seed only: not on threads.
//
// State. {draws, position of each source} — a few integers — is all there is; Restore(State())
// continues at exactly the next sequence.
//
// How the trainer uses it (src/train, not wired here):
//   auto s = CorpusSampler::Open(dir, Mixture::Read(mix).value(), "train", cfg.seed);
//   if (resuming) s->Restore(saved_state_json);   // from the checkpoint's data-loader state
//   while (packing a batch) { DocumentRef d = s->Next(); packer.Add(d.ids); }  // [CLS]..[SEP]
//   checkpoint["data_state"] = s->SaveState();
// Data parallel: rank r of W keeps the draws with k % W == r (call Next() on every rank for every
// draw and skip the others' documents, or Skip(), which costs no reads), so the ranks together
// see exactly the single-process order. Validation: Open(dir, mixture, "val", seed) and read each
// source's val sequences once with SequencesOf().
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "corpus/manifest.h"
#include "corpus/mixture.h"
#include "corpus/shard.h"
#include "mbert/status.h"

namespace mbert::corpus {

struct DocumentRef {
  int source = 0;                 // index into the mixture
  uint64_t sequence = 0;          // index within the source's sequences of the split
  std::span<const uint32_t> ids;  // [CLS] ... [SEP]; valid as long as the sampler
};

struct SamplerState {
  uint64_t seed = 0;
  uint64_t draws = 0;
  std::vector<uint64_t> positions;  // per mixture source: sequences taken so far (all epochs)
  nlohmann::json ToJson() const;
  static Result<SamplerState> FromJson(const nlohmann::json& j, const std::string& origin);
};

class CorpusSampler {
 public:
  // Opens the shards of the mixture's sources for `split` ("train" or "val"), checks each shard's
  // header against the manifest (counts and SHA-256) and, with `verify_content`, its checksum.
  static Result<std::unique_ptr<CorpusSampler>> Open(const std::string& dir, const Mixture& mixture,
                                                     const std::string& split, uint64_t seed,
                                                     bool verify_content = true);

  DocumentRef Next();
  void Skip() { (void)Advance(); }
  SamplerState State() const { return state_; }
  // An error (naming the field) if the state belongs to another seed or mixture size.
  Status Restore(const SamplerState& s);

  const Manifest& manifest() const { return manifest_; }
  uint64_t SequencesOf(int source) const { return sources_[source].total; }
  // Sequence i (unshuffled) of a source, e.g. to evaluate a validation split in order.
  std::span<const uint32_t> Sequence(int source, uint64_t i) const;

 private:
  struct Source {
    std::string name;
    std::vector<int> shards;      // indices into shards_
    std::vector<uint64_t> first;  // first sequence index of each shard, plus the total
    uint64_t total = 0;
    uint64_t perm_epoch = UINT64_MAX;  // epoch `perm` was shuffled for
    std::vector<uint64_t> perm;
  };
  CorpusSampler() = default;
  std::pair<int, uint64_t> Advance();  // (source, sequence) of the next draw
  void Shuffle(int s, uint64_t epoch);

  Manifest manifest_;
  std::vector<ShardReader> shards_;
  std::vector<Source> sources_;
  std::vector<double> cumulative_;  // normalised cumulative weights, last = 1
  SamplerState state_;
};

}  // namespace mbert::corpus
