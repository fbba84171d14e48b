#include "corpus/prepare.h"

#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <unordered_set>

#include "core/file_io.h"
#include "corpus/dedup.h"
#include "corpus/progress.h"
#include "corpus/sha256.h"
#include "corpus/shard.h"
#include "mbert/tokenizer.h"

namespace mbert::corpus {

namespace fs = std::filesystem;

namespace {

Status CheckOptions(const PrepareOptions& o) {
  if (o.sources.empty()) return Status::Error("no --source given; add --source NAME=PATH");
  std::set<std::string> names;
  for (const SourceSpec& s : o.sources)
    if (!names.insert(s.name).second)
      return Status::Error("--source name '" + s.name + "' is used twice; give each a new name");
  if (o.shard_tokens < 1 || o.shard_tokens > kMaxShardTokens / 2)
    return Status::Error("--shard-tokens must be in [1, " + std::to_string(kMaxShardTokens / 2) +
                         "], got " + std::to_string(o.shard_tokens));
  if (!(o.val_fraction >= 0 && o.val_fraction < 1))
    return Status::Error("--val-fraction must be in [0, 1), got " + std::to_string(o.val_fraction));
  if (o.max_seq_len < 3 || o.max_seq_len > (1u << 24))
    return Status::Error("--max-seq-len must be in [3, 16777216] ([CLS], one id, [SEP]), got " +
                         std::to_string(o.max_seq_len));
  if (o.out_dir.empty()) return Status::Error("--out is required");
  std::error_code ec;
  if (fs::exists(o.out_dir, ec)) {
    if (!fs::is_directory(o.out_dir, ec))
      return Status::Error("--out " + o.out_dir + " exists and is not a directory");
    if (!fs::is_empty(o.out_dir, ec))
      return Status::Error("--out " + o.out_dir +
                           " is not empty; give a new directory (old shards would mix in)");
  }
  return Status::Ok();
}

// One split's open shard and its counters.
struct SplitWriter {
  explicit SplitWriter(uint32_t vocab) : builder(vocab) {}
  ShardBuilder builder;
  int next_index = 0;
};

struct Run {
  const PrepareOptions& o;
  const Tokenizer& tok;
  Manifest& m;
  int threads;
  std::unordered_set<uint64_t> seen;
  uint64_t bytes_done = 0, docs_done = 0, tokens_done = 0;
  ProgressBar* bar;

  Status Flush(const std::string& source, const char* split, SplitWriter* w) {
    char name[32];
    std::snprintf(name, sizeof(name), ".%05d.mbshard", w->next_index++);
    const std::string file = source + "." + split + name;
    MBERT_ASSIGN_OR_RETURN(ShardSummary s, w->builder.Write((fs::path(o.out_dir) / file).string()));
    m.shards.push_back({file, source, split, s.documents, s.tokens, s.sha256});
    return Status::Ok();
  }

  Status Batch(const SourceSpec& spec, const std::vector<SourceFile>& files, SourceEntry* e,
               SplitWriter* train, SplitWriter* val) {
    const int64_t nf = static_cast<int64_t>(files.size());
    std::vector<std::vector<std::string>> per_file(files.size());
    std::vector<Status> errors(files.size());
    std::vector<uint8_t> binary(files.size(), 0);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t i = 0; i < nf; ++i) {
      Result<std::string> text = ReadFile(files[i].path);
      if (!text.ok()) {
        errors[i] = text.status();
        continue;
      }
      bool bin = false;
      errors[i] = SplitDocuments(files[i].path, text.value(), o.jsonl_field, &per_file[i], &bin);
      binary[i] = bin;
    }
    for (int64_t i = 0; i < nf; ++i) {
      if (!errors[i].ok()) return errors[i].Wrap("source '" + spec.name + "'");
      e->dropped_invalid += binary[i];
      e->bytes += files[i].bytes;
    }
    std::vector<std::string> docs;
    for (auto& f : per_file)
      for (auto& d : f) docs.push_back(std::move(d));
    per_file.clear();
    const int64_t nd = static_cast<int64_t>(docs.size());
    std::vector<uint64_t> keys(docs.size());
    std::vector<uint8_t> blank(docs.size());
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
    for (int64_t i = 0; i < nd; ++i) {
      blank[i] = IsBlank(docs[i]);
      if (!blank[i]) keys[i] = DedupKey(docs[i]);
    }
    // Decisions in document order.
    std::vector<size_t> kept;
    for (size_t i = 0; i < docs.size(); ++i) {
      ++e->documents;
      if (blank[i]) {
        ++e->dropped_empty;
      } else if (!seen.insert(keys[i]).second) {
        ++e->dropped_duplicate;
      } else {
        kept.push_back(i);
      }
    }
    std::vector<TextPair> inputs(kept.size());
    for (size_t k = 0; k < kept.size(); ++k) inputs[k].text = docs[kept[k]];
    EncodeOptions eo;
    eo.add_special_tokens = false;
    std::vector<Result<Encoding>> enc = tok.EncodeBatch(inputs, eo, threads);
    const uint32_t cls = static_cast<uint32_t>(tok.cls_id()),
                   sep = static_cast<uint32_t>(tok.sep_id());
    const size_t window = o.max_seq_len - 2;
    std::vector<uint32_t> seq;
    for (size_t k = 0; k < kept.size(); ++k) {
      if (!enc[k].ok() || enc[k]->ids.empty()) {
        ++(enc[k].ok() ? e->dropped_empty : e->dropped_invalid);
        continue;
      }
      const std::vector<int32_t>& ids = enc[k]->ids;
      const bool is_val = InValidation(keys[kept[k]], o.seed, o.val_fraction);
      SplitWriter* w = is_val ? val : train;
      SplitCounts& c = is_val ? e->val : e->train;
      ++c.documents;
      for (size_t at = 0; at < ids.size(); at += window) {
        const size_t n = std::min(window, ids.size() - at);
        seq.assign(1, cls);
        for (size_t t = 0; t < n; ++t) seq.push_back(static_cast<uint32_t>(ids[at + t]));
        seq.push_back(sep);
        w->builder.Add(seq);
        ++c.sequences;
        c.tokens += seq.size();
        tokens_done += seq.size();
        if (w->builder.tokens() >= o.shard_tokens)
          MBERT_RETURN_IF_ERROR(Flush(spec.name, is_val ? "val" : "train", w));
      }
      ++docs_done;
    }
    return Status::Ok();
  }
};

}  // namespace

Result<Manifest> PrepareCorpus(const PrepareOptions& o) {
  MBERT_RETURN_IF_ERROR(CheckOptions(o));
  std::error_code ec;
  std::string tok_path = o.tokenizer;
  if (fs::is_directory(tok_path, ec)) tok_path = (fs::path(tok_path) / "tokenizer.json").string();
  if (!FileExists(tok_path))
    return Status::Error("--tokenizer " + o.tokenizer +
                         ": no tokenizer.json there; give a model directory or a tokenizer.json");
  MBERT_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::FromFile(tok_path));
  if (tok.cls_id() < 0 || tok.sep_id() < 0)
    return Status::Error(tok_path +
                         ": the tokenizer defines no [CLS]/[SEP] token; sequences "
                         "need both");
  Manifest m;
  MBERT_ASSIGN_OR_RETURN(m.tokenizer_sha256, Sha256OfFile(tok_path));
  m.vocab_size = static_cast<uint32_t>(tok.vocab_size());
  m.seed = o.seed;
  m.val_fraction = o.val_fraction;
  m.shard_tokens = o.shard_tokens;
  m.max_seq_len = o.max_seq_len;
  m.dedup = kDedupMethod;

  std::vector<std::vector<SourceFile>> files;
  uint64_t total = 0;
  for (const SourceSpec& s : o.sources) {
    MBERT_ASSIGN_OR_RETURN(std::vector<SourceFile> f, ListSourceFiles(s));
    for (const SourceFile& x : f) total += x.bytes;
    files.push_back(std::move(f));
  }
  fs::create_directories(o.out_dir, ec);
  if (ec) return Status::Error("cannot create --out " + o.out_dir + ": " + ec.message());

  ProgressBar bar(total, o.progress);
  Run run{o, tok, m, o.threads > 0 ? o.threads : omp_get_max_threads(), {}, 0, 0, 0, &bar};
  for (size_t si = 0; si < o.sources.size(); ++si) {
    const SourceSpec& spec = o.sources[si];
    SourceEntry e;
    e.name = spec.name;
    e.path = spec.path;
    e.globs = spec.globs;
    e.files = files[si].size();
    SplitWriter train(m.vocab_size), val(m.vocab_size);
    for (size_t begin = 0; begin < files[si].size();) {
      size_t end = begin;
      uint64_t bytes = 0;
      while (end < files[si].size() &&
             (end == begin || bytes + files[si][end].bytes <= o.batch_bytes)) {
        bytes += files[si][end].bytes;
        ++end;
      }
      std::vector<SourceFile> batch(files[si].begin() + begin, files[si].begin() + end);
      MBERT_RETURN_IF_ERROR(run.Batch(spec, batch, &e, &train, &val));
      run.bytes_done += bytes;
      bar.Update(run.bytes_done, run.docs_done, run.tokens_done);
      begin = end;
    }
    if (train.builder.documents() > 0) MBERT_RETURN_IF_ERROR(run.Flush(spec.name, "train", &train));
    if (val.builder.documents() > 0) MBERT_RETURN_IF_ERROR(run.Flush(spec.name, "val", &val));
    m.sources.push_back(std::move(e));
  }
  bar.Finish(run.bytes_done, run.docs_done, run.tokens_done);
  MBERT_RETURN_IF_ERROR(m.Write(o.out_dir));
  return m;
}

}  // namespace mbert::corpus
