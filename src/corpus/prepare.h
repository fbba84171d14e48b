// `mbert data prepare`: raw sources -> tokenized shards + manifest.json in a new directory.
//
// Pipeline, per source in the order given and per batch of its files (at most ~32 MB of text):
//   1. read and split the files into documents (source.h), in parallel over files;
//   2. key each document (dedup.h), in parallel; then, in document order, drop blank documents
//      (dropped_empty) and documents whose key was seen before in this or an earlier source
//      (dropped_duplicate);
//   3. tokenize the kept documents without special tokens, in parallel; text that is not valid
//      UTF-8 (and binary files) is dropped and counted (dropped_invalid);
//   4. in document order: choose train or val by key (InValidation), cut the ids into windows of
//      at most max_seq_len - 2 ids, wrap each as [CLS] ... [SEP] and append it to the split's
//      shard; a shard is written once it holds >= shard_tokens tokens (sequences are never split
//      across shards): <out>/<source>.<split>.<NNNNN>.mbshard.
// Every parallel step writes into slots indexed by file / document and every decision is taken
// in document order, so the shards and the manifest are byte-identical for any thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "corpus/manifest.h"
#include "corpus/source.h"
#include "mbert/status.h"

namespace mbert::corpus {

struct PrepareOptions {
  std::string tokenizer;  // a tokenizer.json, or a directory holding one
  std::vector<SourceSpec> sources;
  std::string out_dir;                        // must not exist, or be empty
  uint64_t shard_tokens = uint64_t{1} << 26;  // 64 Mi tokens = 256 MiB of ids per shard
  uint64_t seed = 0;
  double val_fraction = 0.01;
  uint32_t max_seq_len = 1024;  // tokens per sequence, [CLS] and [SEP] included
  std::string jsonl_field = "text";
  int threads = 0;  // 0 = omp_get_max_threads()
  bool progress = false;
  uint64_t batch_bytes = uint64_t{32} << 20;  // text read per parallel batch
};

Result<Manifest> PrepareCorpus(const PrepareOptions& opts);

}  // namespace mbert::corpus
