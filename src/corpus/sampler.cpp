#include "corpus/sampler.h"

#include <algorithm>
#include <filesystem>

#include "core/check.h"
#include "core/json_fields.h"
#include "corpus/dedup.h"

namespace mbert::corpus {

nlohmann::json SamplerState::ToJson() const {
  return {{"seed", seed}, {"draws", draws}, {"positions", positions}};
}

Result<SamplerState> SamplerState::FromJson(const nlohmann::json& j, const std::string& origin) {
  MBERT_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(j, origin));
  MBERT_RETURN_IF_ERROR(f.OnlyKnown({"seed", "draws", "positions"}));
  SamplerState s;
  for (const char* k : {"seed", "draws", "positions"})
    if (!f.Has(k)) return f.Error(k, "is required");
  MBERT_RETURN_IF_ERROR(f.Int("seed", &s.seed, 0, std::numeric_limits<int64_t>::max()));
  MBERT_RETURN_IF_ERROR(f.Int("draws", &s.draws, 0, std::numeric_limits<int64_t>::max()));
  const nlohmann::json& p = f.at("positions");
  if (!p.is_array()) return f.Error("positions", "must be a list of counts");
  for (size_t i = 0; i < p.size(); ++i) {
    int64_t v = 0;
    MBERT_RETURN_IF_ERROR(CheckJsonInt(p[i], f.Field("positions") + "[" + std::to_string(i) + "]",
                                       0, std::numeric_limits<int64_t>::max(), &v));
    s.positions.push_back(static_cast<uint64_t>(v));
  }
  return s;
}

Result<std::unique_ptr<CorpusSampler>> CorpusSampler::Open(const std::string& dir,
                                                           const Mixture& mixture,
                                                           const std::string& split, uint64_t seed,
                                                           bool verify_content) {
  if (split != "train" && split != "val")
    return Status::Error("split must be \"train\" or \"val\", got \"" + split + "\"");
  if (mixture.sources.empty()) return Status::Error("the mixture lists no sources");
  std::unique_ptr<CorpusSampler> s(new CorpusSampler());
  MBERT_ASSIGN_OR_RETURN(s->manifest_, Manifest::Read(dir));
  const Manifest& m = s->manifest_;
  double sum = 0;
  for (const MixtureEntry& e : mixture.sources) {
    if (m.FindSource(e.name) == nullptr) {
      std::string have;
      for (const SourceEntry& x : m.sources) have += (have.empty() ? "" : ", ") + x.name;
      return Status::Error("mixture source '" + e.name + "' is not in " + dir +
                           "/manifest.json (it has: " + have + ")");
    }
    Source src;
    src.name = e.name;
    for (size_t i = 0; i < m.shards.size(); ++i) {
      const ShardEntry& sh = m.shards[i];
      if (sh.source != e.name || sh.split != split) continue;
      const std::string path = (std::filesystem::path(dir) / sh.file).string();
      MBERT_ASSIGN_OR_RETURN(ShardReader r, ShardReader::Open(path, verify_content));
      if (r.documents() != sh.sequences || r.tokens() != sh.tokens || r.sha256() != sh.sha256)
        return Status::Error(path +
                             ": does not match its manifest entry (sequences, tokens or "
                             "sha256 differ); the corpus directory is inconsistent: "
                             "re-run `mbert data prepare`");
      if (r.vocab_size() != m.vocab_size)
        return Status::Error(path + ": vocabulary size " + std::to_string(r.vocab_size()) +
                             " differs from the manifest's " + std::to_string(m.vocab_size));
      src.shards.push_back(static_cast<int>(s->shards_.size()));
      src.first.push_back(src.total);
      src.total += r.documents();
      s->shards_.push_back(std::move(r));
    }
    src.first.push_back(src.total);
    if (src.total == 0)
      return Status::Error("mixture source '" + e.name + "' has no " + split + " sequences in " +
                           dir + "; drop it from the mixture");
    sum += e.weight;
    s->cumulative_.push_back(sum);
    s->sources_.push_back(std::move(src));
  }
  for (double& c : s->cumulative_) c /= sum;
  s->cumulative_.back() = 1.0;
  s->state_.seed = seed;
  s->state_.positions.assign(s->sources_.size(), 0);
  return s;
}

void CorpusSampler::Shuffle(int s, uint64_t epoch) {
  Source& src = sources_[s];
  src.perm.resize(src.total);
  for (uint64_t i = 0; i < src.total; ++i) src.perm[i] = i;
  uint64_t x = Mix64(state_.seed ^
                     Mix64(static_cast<uint64_t>(s) * 0x100000001b3ull ^ Mix64(epoch + 0x51ed27)));
  for (uint64_t i = src.total; i > 1; --i) {
    x = Mix64(x);
    // Multiply-shift keeps the bias below 2^-32 for any realistic source size.
    const uint64_t j = static_cast<uint64_t>((static_cast<unsigned __int128>(x) * i) >> 64);
    std::swap(src.perm[i - 1], src.perm[j]);
  }
  src.perm_epoch = epoch;
}

std::pair<int, uint64_t> CorpusSampler::Advance() {
  const uint64_t k = state_.draws++;
  const double u = static_cast<double>(Mix64(state_.seed ^ Mix64(k)) >> 11) * 0x1.0p-53;  // [0, 1)
  const int s = static_cast<int>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) -
                                 cumulative_.begin());
  const int src = std::min<int>(s, static_cast<int>(sources_.size()) - 1);
  Source& x = sources_[src];
  const uint64_t pos = state_.positions[src]++;
  const uint64_t epoch = pos / x.total;
  if (x.perm_epoch != epoch) Shuffle(src, epoch);
  return {src, x.perm[pos % x.total]};
}

DocumentRef CorpusSampler::Next() {
  const auto [s, i] = Advance();
  return {s, i, Sequence(s, i)};
}

std::span<const uint32_t> CorpusSampler::Sequence(int source, uint64_t i) const {
  const Source& x = sources_[source];
  MBERT_CHECK(i < x.total, "sequence", i, "of", x.total);
  const size_t k =
      static_cast<size_t>(std::upper_bound(x.first.begin(), x.first.end(), i) - x.first.begin()) -
      1;
  return shards_[x.shards[k]].Document(i - x.first[k]);
}

Status CorpusSampler::Restore(const SamplerState& s) {
  if (s.seed != state_.seed)
    return Status::Error("sampler state: seed " + std::to_string(s.seed) +
                         " differs from this run's " + std::to_string(state_.seed) +
                         "; resume with the seed the state was saved with");
  if (s.positions.size() != sources_.size())
    return Status::Error("sampler state: " + std::to_string(s.positions.size()) +
                         " source positions for a mixture of " + std::to_string(sources_.size()) +
                         " sources; resume with the same mixture");
  uint64_t sum = 0;
  for (uint64_t p : s.positions) sum += p;
  if (sum != s.draws)
    return Status::Error("sampler state: positions add up to " + std::to_string(sum) + ", not to " +
                         std::to_string(s.draws) + " draws; the saved state is corrupt");
  state_ = s;
  return Status::Ok();
}

}  // namespace mbert::corpus
