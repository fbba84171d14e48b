#include "train/corpus_data.h"

#include "core/file_io.h"
#include "corpus/manifest.h"
#include "corpus/sha256.h"

namespace mbert {

using json = nlohmann::json;

Result<CorpusData> OpenCorpusData(const std::string& dir, const std::string& mixture_path,
                                  uint64_t seed, const std::string& tokenizer_json) {
  MBERT_ASSIGN_OR_RETURN(const corpus::Manifest manifest, corpus::Manifest::Read(dir));
  MBERT_ASSIGN_OR_RETURN(const std::string tok_sha, corpus::Sha256OfFile(tokenizer_json));
  if (tok_sha != manifest.tokenizer_sha256)
    return Status::Error(dir +
                         "/manifest.json: the corpus was tokenized with a tokenizer.json of "
                         "SHA-256 " +
                         manifest.tokenizer_sha256.substr(0, 12) + "..., but training uses " +
                         tokenizer_json + " (" + tok_sha.substr(0, 12) +
                         "...); give the training config the corpus's tokenizer, or re-run "
                         "`mbert data prepare` with this one");
  CorpusData d;
  if (mixture_path.empty()) {
    for (const corpus::SourceEntry& s : manifest.sources)
      d.mixture.sources.push_back({s.name, 1.0});
  } else {
    MBERT_ASSIGN_OR_RETURN(d.mixture, corpus::Mixture::Read(mixture_path));
  }
  MBERT_ASSIGN_OR_RETURN(d.train, corpus::CorpusSampler::Open(dir, d.mixture, "train", seed));
  corpus::Mixture val_mix;
  for (const corpus::MixtureEntry& e : d.mixture.sources) {
    const corpus::SourceEntry* s = manifest.FindSource(e.name);
    if (s != nullptr && s->val.sequences > 0) val_mix.sources.push_back(e);
  }
  if (!val_mix.sources.empty()) {
    MBERT_ASSIGN_OR_RETURN(d.val, corpus::CorpusSampler::Open(dir, val_mix, "val", seed));
  }

  // Shards are identified by content (SHA-256), so a moved corpus directory still resumes.
  json sources = json::array();
  for (size_t i = 0; i < d.mixture.sources.size(); ++i) {
    const corpus::MixtureEntry& e = d.mixture.sources[i];
    json shards = json::array();
    for (const corpus::ShardEntry& sh : manifest.shards)
      if (sh.source == e.name && sh.split == "train") shards.push_back(sh.sha256);
    const uint64_t n = d.train->SequencesOf(static_cast<int>(i));
    d.train_sequences += n;
    d.train_tokens += manifest.FindSource(e.name)->train.tokens;
    sources.push_back(
        {{"name", e.name}, {"weight", e.weight}, {"sequences", n}, {"shards", shards}});
  }
  d.fingerprint = {{"corpus", {{"tokenizer_sha256", tok_sha}, {"sources", sources}}}};
  return d;
}

std::string CorpusFingerprintDiff(const json& saved, const json& now) {
  if (!saved.is_object() || !saved.contains("corpus"))
    return "the checkpoint was trained on text files (data.train), not on a prepared corpus";
  const json& a = saved["corpus"];
  const json& b = now["corpus"];
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  if (a.value("tokenizer_sha256", json()) != b["tokenizer_sha256"])
    add("the corpus was tokenized with another tokenizer.json");
  const json none = json::array();
  const json& sa = a.contains("sources") && a["sources"].is_array() ? a["sources"] : none;
  const json& sb = b["sources"];
  if (sa.size() != sb.size()) {
    add("the mixture has " + std::to_string(sb.size()) + " sources, the checkpoint's had " +
        std::to_string(sa.size()));
    return out;
  }
  for (size_t i = 0; i < sa.size(); ++i) {
    const std::string name = sb[i]["name"].get<std::string>();
    if (!sa[i].is_object() || sa[i].value("name", json()) != sb[i]["name"])
      add("mixture source " + std::to_string(i) + " is '" + name + "', the checkpoint's was " +
          (sa[i].is_object() ? sa[i].value("name", json()).dump() : std::string("unreadable")));
    else if (sa[i].value("weight", json()) != sb[i]["weight"])
      add("source '" + name + "' has weight " + sb[i]["weight"].dump() + ", the checkpoint's had " +
          sa[i].value("weight", json()).dump());
    else if (sa[i].value("shards", json()) != sb[i]["shards"])
      add("the train shards of source '" + name + "' differ (the corpus was prepared again)");
  }
  return out;
}

}  // namespace mbert
