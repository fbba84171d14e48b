// Pre-training data from a prepared corpus directory (`mbert data prepare`, docs/data.md): the
// mixture sampler over the train split, the held-out (val) sequences of every source, and the
// fingerprint a checkpoint keeps so that a resume can tell the corpus or the mixture changed.
// The trainer reads the shards' token ids directly: nothing is tokenized at training time.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "corpus/mixture.h"
#include "corpus/sampler.h"
#include "mbert/status.h"

namespace mbert {

struct CorpusData {
  std::unique_ptr<corpus::CorpusSampler> train;
  // The mixture's sources that hold val sequences, in mixture order (null when none does).
  std::unique_ptr<corpus::CorpusSampler> val;
  corpus::Mixture mixture;
  nlohmann::json fingerprint;
  uint64_t train_sequences = 0;
  uint64_t train_tokens = 0;
};

// `mixture_path` empty draws every source of the manifest with weight 1. The corpus must have
// been tokenized with `tokenizer_json` (compared by SHA-256): ids of another vocabulary would
// train silently on garbage.
Result<CorpusData> OpenCorpusData(const std::string& dir, const std::string& mixture_path,
                                  uint64_t seed, const std::string& tokenizer_json);

// Empty when `saved` (from a checkpoint) and `now` describe the same corpus and mixture, else
// what differs, one clause per difference.
std::string CorpusFingerprintDiff(const nlohmann::json& saved, const nlohmann::json& now);

}  // namespace mbert
