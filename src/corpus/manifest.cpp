#include "corpus/manifest.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/file_io.h"
#include "core/json_fields.h"

namespace mbert::corpus {

namespace {

constexpr int64_t kMaxCount = int64_t{1} << 50;

nlohmann::json CountsJson(const SplitCounts& c) {
  return {{"documents", c.documents}, {"sequences", c.sequences}, {"tokens", c.tokens}};
}

Status ReadCount(const JsonFields& f, const char* key, uint64_t* out) {
  if (!f.Has(key)) return f.Error(key, "is required");
  return f.Int(key, out, 0, kMaxCount);
}

Status ReadCounts(const JsonFields& parent, const char* key, SplitCounts* c) {
  if (!parent.Has(key)) return parent.Error(key, "is required");
  MBERT_ASSIGN_OR_RETURN(JsonFields f, parent.Object(key));
  MBERT_RETURN_IF_ERROR(f.OnlyKnown({"documents", "sequences", "tokens"}));
  MBERT_RETURN_IF_ERROR(ReadCount(f, "documents", &c->documents));
  MBERT_RETURN_IF_ERROR(ReadCount(f, "sequences", &c->sequences));
  MBERT_RETURN_IF_ERROR(ReadCount(f, "tokens", &c->tokens));
  return Status::Ok();
}

Status RequiredString(const JsonFields& f, const char* key, std::string* out) {
  if (!f.Has(key)) return f.Error(key, "is required");
  return f.String(key, out);
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool PlainFileName(const std::string& s) {
  return !s.empty() && s.size() < 256 && s != "." && s != ".." &&
         s.find('/') == std::string::npos && s.find('\0') == std::string::npos;
}

}  // namespace

nlohmann::json Manifest::ToJson() const {
  nlohmann::json src = nlohmann::json::array();
  for (const SourceEntry& s : sources)
    src.push_back({{"name", s.name},
                   {"path", s.path},
                   {"globs", s.globs},
                   {"files", s.files},
                   {"bytes", s.bytes},
                   {"documents", s.documents},
                   {"dropped_empty", s.dropped_empty},
                   {"dropped_duplicate", s.dropped_duplicate},
                   {"dropped_invalid", s.dropped_invalid},
                   {"train", CountsJson(s.train)},
                   {"val", CountsJson(s.val)}});
  nlohmann::json sh = nlohmann::json::array();
  for (const ShardEntry& s : shards)
    sh.push_back({{"file", s.file},
                  {"source", s.source},
                  {"split", s.split},
                  {"sequences", s.sequences},
                  {"tokens", s.tokens},
                  {"sha256", s.sha256}});
  return {{"format", "mbert-corpus"},
          {"version", 1},
          {"tokenizer", {{"sha256", tokenizer_sha256}, {"vocab_size", vocab_size}}},
          {"seed", seed},
          {"val_fraction", val_fraction},
          {"shard_tokens", shard_tokens},
          {"max_seq_len", max_seq_len},
          {"dedup", dedup},
          {"sources", src},
          {"shards", sh}};
}

Result<Manifest> Manifest::FromJson(const nlohmann::json& j, const std::string& origin) {
  MBERT_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(j, origin));
  MBERT_RETURN_IF_ERROR(f.OnlyKnown({"format", "version", "tokenizer", "seed", "val_fraction",
                                     "shard_tokens", "max_seq_len", "dedup", "sources", "shards"}));
  std::string format;
  MBERT_RETURN_IF_ERROR(RequiredString(f, "format", &format));
  if (format != "mbert-corpus")
    return f.Error("format", "must be \"mbert-corpus\" (is this a corpus manifest?)");
  int64_t version = 0;
  if (!f.Has("version")) return f.Error("version", "is required");
  MBERT_RETURN_IF_ERROR(f.Int("version", &version, 1, 1000000));
  if (version != 1)
    return f.Error("version", "is " + std::to_string(version) +
                                  "; this build reads version 1 (re-run `mbert data prepare`)");
  Manifest m;
  MBERT_ASSIGN_OR_RETURN(JsonFields tok, f.Object("tokenizer"));
  MBERT_RETURN_IF_ERROR(tok.OnlyKnown({"sha256", "vocab_size"}));
  MBERT_RETURN_IF_ERROR(RequiredString(tok, "sha256", &m.tokenizer_sha256));
  if (!IsHex64(m.tokenizer_sha256)) return tok.Error("sha256", "must be 64 lower-case hex digits");
  if (!tok.Has("vocab_size")) return tok.Error("vocab_size", "is required");
  MBERT_RETURN_IF_ERROR(tok.Int("vocab_size", &m.vocab_size, 1, int64_t{1} << 31));
  if (!f.Has("seed")) return f.Error("seed", "is required");
  MBERT_RETURN_IF_ERROR(f.Int("seed", &m.seed, 0, std::numeric_limits<int64_t>::max()));
  if (!f.Has("val_fraction")) return f.Error("val_fraction", "is required");
  MBERT_RETURN_IF_ERROR(f.Number("val_fraction", &m.val_fraction, 0.0, 1.0));
  MBERT_RETURN_IF_ERROR(ReadCount(f, "shard_tokens", &m.shard_tokens));
  if (!f.Has("max_seq_len")) return f.Error("max_seq_len", "is required");
  MBERT_RETURN_IF_ERROR(f.Int("max_seq_len", &m.max_seq_len, 3, int64_t{1} << 24));
  MBERT_RETURN_IF_ERROR(f.String("dedup", &m.dedup));

  if (!f.Has("sources") || !f.at("sources").is_array())
    return f.Error("sources", "must be an array of source objects");
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < f.at("sources").size(); ++i) {
    const std::string pre = "sources[" + std::to_string(i) + "].";
    MBERT_ASSIGN_OR_RETURN(JsonFields s, JsonFields::Of(f.at("sources")[i], origin, pre));
    MBERT_RETURN_IF_ERROR(
        s.OnlyKnown({"name", "path", "globs", "files", "bytes", "documents", "dropped_empty",
                     "dropped_duplicate", "dropped_invalid", "train", "val"}));
    SourceEntry e;
    MBERT_RETURN_IF_ERROR(RequiredString(s, "name", &e.name));
    if (!PlainFileName(e.name)) return s.Error("name", "must be a plain name (no '/')");
    if (index.count(e.name)) return s.Error("name", "'" + e.name + "' appears twice");
    MBERT_RETURN_IF_ERROR(s.String("path", &e.path));
    MBERT_RETURN_IF_ERROR(s.StringList("globs", &e.globs, 1000));
    MBERT_RETURN_IF_ERROR(ReadCount(s, "files", &e.files));
    MBERT_RETURN_IF_ERROR(ReadCount(s, "bytes", &e.bytes));
    MBERT_RETURN_IF_ERROR(ReadCount(s, "documents", &e.documents));
    MBERT_RETURN_IF_ERROR(ReadCount(s, "dropped_empty", &e.dropped_empty));
    MBERT_RETURN_IF_ERROR(ReadCount(s, "dropped_duplicate", &e.dropped_duplicate));
    MBERT_RETURN_IF_ERROR(ReadCount(s, "dropped_invalid", &e.dropped_invalid));
    MBERT_RETURN_IF_ERROR(ReadCounts(s, "train", &e.train));
    MBERT_RETURN_IF_ERROR(ReadCounts(s, "val", &e.val));
    if (e.dropped_empty + e.dropped_duplicate + e.train.documents + e.val.documents > e.documents)
      return s.Error("documents", "is smaller than the kept and dropped documents together");
    index[e.name] = m.sources.size();
    m.sources.push_back(std::move(e));
  }

  if (!f.Has("shards") || !f.at("shards").is_array())
    return f.Error("shards", "must be an array of shard objects");
  std::vector<SplitCounts> sums(2 * m.sources.size());
  std::map<std::string, int> files;
  for (size_t i = 0; i < f.at("shards").size(); ++i) {
    const std::string pre = "shards[" + std::to_string(i) + "].";
    MBERT_ASSIGN_OR_RETURN(JsonFields s, JsonFields::Of(f.at("shards")[i], origin, pre));
    MBERT_RETURN_IF_ERROR(
        s.OnlyKnown({"file", "source", "split", "sequences", "tokens", "sha256"}));
    ShardEntry e;
    MBERT_RETURN_IF_ERROR(RequiredString(s, "file", &e.file));
    if (!PlainFileName(e.file))
      return s.Error("file", "must be a file name inside the corpus directory (no '/')");
    if (files[e.file]++) return s.Error("file", "'" + e.file + "' is listed twice");
    MBERT_RETURN_IF_ERROR(RequiredString(s, "source", &e.source));
    auto it = index.find(e.source);
    if (it == index.end()) return s.Error("source", "'" + e.source + "' is not in 'sources'");
    MBERT_RETURN_IF_ERROR(RequiredString(s, "split", &e.split));
    if (e.split != "train" && e.split != "val")
      return s.Error("split", "must be \"train\" or \"val\", got \"" + e.split + "\"");
    MBERT_RETURN_IF_ERROR(ReadCount(s, "sequences", &e.sequences));
    MBERT_RETURN_IF_ERROR(ReadCount(s, "tokens", &e.tokens));
    MBERT_RETURN_IF_ERROR(RequiredString(s, "sha256", &e.sha256));
    if (!IsHex64(e.sha256)) return s.Error("sha256", "must be 64 lower-case hex digits");
    SplitCounts& sum = sums[2 * it->second + (e.split == "val")];
    sum.sequences += e.sequences;
    sum.tokens += e.tokens;
    m.shards.push_back(std::move(e));
  }
  for (size_t i = 0; i < m.sources.size(); ++i) {
    const SourceEntry& e = m.sources[i];
    for (int v = 0; v < 2; ++v) {
      const SplitCounts& want = v ? e.val : e.train;
      if (sums[2 * i + v].sequences != want.sequences || sums[2 * i + v].tokens != want.tokens)
        return Status::Error(origin + ": source '" + e.name + "' " + (v ? "val" : "train") +
                             " counts (" + std::to_string(want.sequences) + " sequences, " +
                             std::to_string(want.tokens) +
                             " tokens) differ from the sum over its shards (" +
                             std::to_string(sums[2 * i + v].sequences) + ", " +
                             std::to_string(sums[2 * i + v].tokens) +
                             "); the manifest is corrupt: re-run `mbert data prepare`");
    }
  }
  return m;
}

Result<Manifest> Manifest::Read(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / kManifestFile).string();
  if (!FileExists(path))
    return Status::Error(path + " not found: is " + dir +
                         " a directory written by `mbert data prepare`?");
  MBERT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(path));
  return FromJson(j, path);
}

Status Manifest::Write(const std::string& dir) const {
  const std::string path = (std::filesystem::path(dir) / kManifestFile).string();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << ToJson().dump(2) << "\n";
    if (!out) return Status::Error("cannot write " + tmp + " (disk full or not writable?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::Error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::Ok();
}

const SourceEntry* Manifest::FindSource(const std::string& name) const {
  for (const SourceEntry& s : sources)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace mbert::corpus
