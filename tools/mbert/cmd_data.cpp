// mbert data prepare / mbert data info: the pre-training corpus (src/corpus/, docs/data.md).
//   mbert data prepare --tokenizer DIR --source NAME=PATH[:GLOB,...] ... --out DIR
//                      [--shard-tokens N] [--seed S] [--val-fraction F] [--max-seq-len N]
//   mbert data info DIR [--no-verify]
// prepare writes tokenized shards and manifest.json (progress on stderr); info prints the
// manifest's summary and verifies every shard (header, offsets, SHA-256, manifest entry).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "corpus/manifest.h"
#include "corpus/prepare.h"
#include "corpus/sampler.h"
#include "corpus/shard.h"
#include "int_flags.h"
#include "mbert/tokenizer.h"
#include "runner.h"

namespace mbert::cli {

namespace {

struct PrepareArgs {
  std::string tokenizer, out, jsonl_field = "text";
  std::vector<std::string> sources;
  int64_t shard_tokens = int64_t{1} << 26, seed = 0, max_seq_len = 1024;
  double val_fraction = 0.01;
  bool quiet = false;
};

int RunPrepare(const PrepareArgs& a) {
  corpus::PrepareOptions o;
  o.tokenizer = a.tokenizer;
  for (const std::string& s : a.sources) {
    auto spec = corpus::ParseSourceSpec(s);
    if (!spec.ok()) return ReportError(spec.status());
    o.sources.push_back(spec.value());
  }
  o.out_dir = a.out;
  o.shard_tokens = static_cast<uint64_t>(a.shard_tokens);
  o.seed = static_cast<uint64_t>(a.seed);
  o.val_fraction = a.val_fraction;
  o.max_seq_len = static_cast<uint32_t>(a.max_seq_len);
  o.jsonl_field = a.jsonl_field;
  o.progress = !a.quiet;
  auto m = corpus::PrepareCorpus(o);
  if (!m.ok()) return ReportError(m.status());
  uint64_t tokens = 0;
  for (const auto& s : m->sources) tokens += s.train.tokens + s.val.tokens;
  std::cerr << "wrote " << m->shards.size() << " shards, " << tokens << " tokens, and " << a.out
            << "/manifest.json\n";
  return 0;
}

int RunInfo(const std::string& dir, bool verify) {
  auto m = corpus::Manifest::Read(dir);
  if (!m.ok()) return ReportError(m.status());
  std::printf(
      "corpus %s: tokenizer sha256 %.12s..., vocab %u, seed %llu, val_fraction %g, "
      "max_seq_len %u\n",
      dir.c_str(), m->tokenizer_sha256.c_str(), m->vocab_size,
      static_cast<unsigned long long>(m->seed), m->val_fraction, m->max_seq_len);
  std::printf("%-16s %7s %12s %9s %7s %7s %7s %9s %12s %9s %10s\n", "source", "files", "bytes",
              "docs", "empty", "dup", "invalid", "train_doc", "train_tok", "val_doc", "val_tok");
  for (const auto& s : m->sources)
    std::printf("%-16s %7llu %12llu %9llu %7llu %7llu %7llu %9llu %12llu %9llu %10llu\n",
                s.name.c_str(), static_cast<unsigned long long>(s.files),
                static_cast<unsigned long long>(s.bytes),
                static_cast<unsigned long long>(s.documents),
                static_cast<unsigned long long>(s.dropped_empty),
                static_cast<unsigned long long>(s.dropped_duplicate),
                static_cast<unsigned long long>(s.dropped_invalid),
                static_cast<unsigned long long>(s.train.documents),
                static_cast<unsigned long long>(s.train.tokens),
                static_cast<unsigned long long>(s.val.documents),
                static_cast<unsigned long long>(s.val.tokens));
  int bad = 0;
  for (const auto& sh : m->shards) {
    const std::string path = (std::filesystem::path(dir) / sh.file).string();
    auto r = corpus::ShardReader::Open(path, verify);
    if (!r.ok()) {
      std::cerr << "error: " << r.status().message() << "\n";
      ++bad;
      continue;
    }
    if (r->documents() != sh.sequences || r->tokens() != sh.tokens || r->sha256() != sh.sha256) {
      std::cerr << "error: " << path
                << ": sequences, tokens or sha256 differ from manifest.json; re-run "
                   "`mbert data prepare`\n";
      ++bad;
    }
  }
  std::printf("%zu shards %s\n", m->shards.size(),
              bad ? "checked: some are bad (see errors)"
                  : (verify ? "verified (headers, offsets, SHA-256, ids < vocab)"
                            : "checked (headers and offsets; --no-verify skipped SHA-256)"));
  return bad ? 1 : 0;
}

struct ShowArgs {
  std::string dir, source, split = "val", tokenizer;
  int64_t index = 0, count = 1;
};

// Decodes sequences of one source back to text, e.g. held-out passages for fill-mask examples.
int RunShow(const ShowArgs& a) {
  auto m = corpus::Manifest::Read(a.dir);
  if (!m.ok()) return ReportError(m.status());
  if (m->FindSource(a.source) == nullptr) {
    std::string names;
    for (const auto& s : m->sources) names += (names.empty() ? "" : ", ") + s.name;
    return ReportError(Status::Error(a.dir + "/manifest.json: no source '" + a.source +
                                     "' (it has: " + names + ")"));
  }
  corpus::Mixture mix;
  mix.sources.push_back({a.source, 1.0});
  auto sampler = corpus::CorpusSampler::Open(a.dir, mix, a.split, 0);
  if (!sampler.ok()) return ReportError(sampler.status());
  auto tok = Tokenizer::FromModelDir(a.tokenizer);
  if (!tok.ok()) return ReportError(tok.status().Wrap("--tokenizer"));
  const uint64_t n = sampler.value()->SequencesOf(0);
  if (static_cast<uint64_t>(a.index) >= n)
    return ReportError(Status::Error("--index " + std::to_string(a.index) + ": source '" +
                                     a.source + "' has " + std::to_string(n) + " " + a.split +
                                     " sequences"));
  DecodeOptions dopt;
  dopt.skip_special_tokens = true;
  for (uint64_t i = static_cast<uint64_t>(a.index);
       i < std::min(n, static_cast<uint64_t>(a.index + a.count)); ++i) {
    const auto ids = sampler.value()->Sequence(0, i);
    auto text = tok->Decode(std::vector<int32_t>(ids.begin(), ids.end()), dopt);
    if (!text.ok()) return ReportError(text.status());
    const nlohmann::json line = {
        {"source", a.source}, {"split", a.split}, {"index", i}, {"text", text.value()}};
    std::cout << line.dump() << "\n";
  }
  return 0;
}

}  // namespace

Subcommand AddDataCommand(CLI::App& root) {
  CLI::App* app = root.add_subcommand("data", "pre-training corpus: prepare shards, inspect them");
  app->require_subcommand(1);
  auto p = std::make_shared<PrepareArgs>();
  CLI::App* prep = app->add_subcommand(
      "prepare",
      "tokenize sources into shards + manifest.json. File kinds: .jsonl (one document per line), "
      ".txt (paragraphs), .html/.rst (converted to text), code and other text (one document per "
      "file); see docs/data.md");
  prep->add_option("--tokenizer", p->tokenizer, "model directory with tokenizer.json, or the file")
      ->required();
  prep->add_option("--source", p->sources,
                   "NAME=PATH[:GLOB[,GLOB...]] (repeat); PATH is a file or a directory")
      ->required();
  prep->add_option("--out", p->out, "new output directory")->required();
  prep->add_option("--shard-tokens", p->shard_tokens, "tokens per shard (a shard closes past it)")
      ->check(AtLeast(1));
  prep->add_option("--seed", p->seed, "seed of the validation split")->check(AtLeast(0));
  prep->add_option("--val-fraction", p->val_fraction,
                   "held-out fraction of each source's documents")
      ->check(CLI::Range(0.0, 0.999999));
  prep->add_option("--max-seq-len", p->max_seq_len,
                   "tokens per sequence with [CLS]/[SEP]; longer documents become several")
      ->check(CLI::Range(int64_t{3}, int64_t{1} << 24));
  prep->add_option("--jsonl-field", p->jsonl_field, "the text field of JSONL lines");
  prep->add_flag("-q,--quiet", p->quiet, "no progress bar");
  auto dir = std::make_shared<std::string>();
  auto no_verify = std::make_shared<bool>(false);
  CLI::App* info = app->add_subcommand("info", "summarise a prepared corpus and verify its shards");
  info->add_option("dir", *dir, "directory written by `mbert data prepare`")->required();
  info->add_flag("--no-verify", *no_verify, "check headers and offsets only (no SHA-256 pass)");
  auto sh = std::make_shared<ShowArgs>();
  CLI::App* show = app->add_subcommand(
      "show", "decode sequences of one source back to text (JSON lines), e.g. held-out passages");
  show->add_option("dir", sh->dir, "directory written by `mbert data prepare`")->required();
  show->add_option("--source", sh->source, "source name (manifest.json)")->required();
  show->add_option("--split", sh->split, "train or val")->check(CLI::IsMember({"train", "val"}));
  show->add_option("--tokenizer", sh->tokenizer, "the corpus's tokenizer (model directory)")
      ->required();
  show->add_option("--index", sh->index, "first sequence (in stored order)")->check(AtLeast(0));
  show->add_option("-n,--count", sh->count, "how many sequences")->check(AtLeast(1));
  return {app, [=] {
            if (show->parsed()) return RunShow(*sh);
            if (prep->parsed()) return RunPrepare(*p);
            return RunInfo(*dir, !*no_verify);
          }};
}

}  // namespace mbert::cli
