#include "train/text_dataset.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file_io.h"
#include "core/safetensors.h"

namespace mbert {

namespace {

void SplitDocuments(const std::string& text, const std::string& mode,
                    std::vector<std::string>* docs) {
  std::istringstream in(text);
  std::string line, cur;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const bool blank = line.find_first_not_of(" \t") == std::string::npos;
    if (mode == "line") {
      if (!blank) docs->push_back(line);
      continue;
    }
    if (blank) {
      if (!cur.empty()) docs->push_back(std::move(cur));
      cur.clear();
    } else {
      cur += cur.empty() ? line : "\n" + line;
    }
  }
  if (!cur.empty()) docs->push_back(std::move(cur));
}

}  // namespace

Result<TextDataset> LoadTextDataset(const TextDatasetOptions& opts, const Tokenizer& tok,
                                    int threads) {
  if (opts.files.empty()) return Status::Error("data.train lists no files");
  if (opts.split != "paragraph" && opts.split != "line")
    return Status::Error("data.split '" + opts.split + "' must be \"paragraph\" or \"line\"");
  // max_seq_len 0 used to resize a document to nothing and write its [SEP] before the start.
  if (opts.max_seq_len < 2)
    return Status::Error("data.max_seq_len must be at least 2 ([CLS] and [SEP]), got " +
                         std::to_string(opts.max_seq_len));
  if (opts.min_tokens < 1 || opts.eval_every < 0)
    return Status::Error("data.min_tokens must be >= 1 and data.eval_every >= 0");
  TextDataset ds;
  std::vector<std::string> docs;
  std::vector<std::vector<int32_t>> pretokenized;
  for (const std::string& path : opts.files) {
    if (path.ends_with(".safetensors")) {
      // A pre-tokenized shard: input_ids (I32/I64, flat) and cu_seqlens (B+1) delimiting
      // documents, e.g. written by a preprocessing job; ids are used as they are.
      MBERT_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Open(path));
      const TensorView* ids = f.Find("input_ids");
      const TensorView* cu = f.Find("cu_seqlens");
      if (ids == nullptr || cu == nullptr)
        return Status::Error(path + ": a token shard needs tensors 'input_ids' and 'cu_seqlens'");
      MBERT_ASSIGN_OR_RETURN(std::vector<int32_t> flat, ReadInt32(*ids, path));
      MBERT_ASSIGN_OR_RETURN(std::vector<int32_t> bounds, ReadInt32(*cu, path));
      std::error_code ec;
      const uint64_t h =
          Fnv1a64(bounds.data(), bounds.size() * 4, Fnv1a64(flat.data(), flat.size() * 4));
      ds.sources.push_back({path, static_cast<uint64_t>(std::filesystem::file_size(path, ec)), h});
      for (size_t b = 0; b + 1 < bounds.size(); ++b) {
        if (bounds[b] < 0 || bounds[b] > bounds[b + 1] ||
            bounds[b + 1] > static_cast<int32_t>(flat.size()))
          return Status::Error(path + ": cu_seqlens must be non-decreasing within input_ids");
        pretokenized.emplace_back(flat.begin() + bounds[b], flat.begin() + bounds[b + 1]);
      }
      continue;
    }
    MBERT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    ds.sources.push_back({path, text.size(), Fnv1a64(text.data(), text.size())});
    if (path.ends_with(".jsonl")) {
      std::istringstream in(text);
      std::string line;
      int64_t lineno = 0;
      while (std::getline(in, line)) {
        ++lineno;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains(opts.jsonl_field) ||
            !j[opts.jsonl_field].is_string())
          return Status::Error(path + ":" + std::to_string(lineno) +
                               ": expected a JSON object "
                               "with a string field \"" +
                               opts.jsonl_field + "\"");
        SplitDocuments(j[opts.jsonl_field].get<std::string>(), opts.split, &docs);
      }
    } else {
      SplitDocuments(text, opts.split, &docs);
    }
  }
  std::vector<TextPair> inputs(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) inputs[i].text = docs[i];
  std::vector<Result<Encoding>> enc = tok.EncodeBatch(inputs, {}, threads);
  for (size_t i = 0; i < enc.size(); ++i) {
    if (!enc[i].ok())
      return enc[i].status().Wrap("tokenizing training document " + std::to_string(i));
    pretokenized.push_back(std::move(enc[i]).value().ids);
  }
  const int32_t vocab = static_cast<int32_t>(tok.vocab_size());
  int64_t kept = 0;
  for (std::vector<int32_t>& ids : pretokenized) {
    for (int32_t id : ids)
      if (id < 0 || id >= vocab)
        return Status::Error("token id " + std::to_string(id) +
                             " in a pre-tokenized shard is outside the tokenizer's vocabulary");
    if (static_cast<int64_t>(ids.size()) < opts.min_tokens) continue;
    if (static_cast<int64_t>(ids.size()) > opts.max_seq_len) {
      // Keep the first max_seq_len - 1 tokens and close with [SEP], as a truncating tokenizer does.
      const int32_t last = ids.back();
      ids.resize(static_cast<size_t>(opts.max_seq_len));
      ids.back() = last;
      ++ds.truncated;
    }
    const bool held_out = opts.eval_every > 0 && kept % opts.eval_every == opts.eval_every - 1;
    ++kept;
    if (held_out) {
      ds.eval.push_back(ids);
    } else {
      ds.train_tokens += static_cast<int64_t>(ids.size());
      ds.train.push_back(ids);
    }
  }
  if (ds.train.empty())
    return Status::Error("no training documents with at least " + std::to_string(opts.min_tokens) +
                         " tokens");
  return ds;
}

}  // namespace mbert
