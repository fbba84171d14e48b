#include "train/text_dataset.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file_io.h"

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
  std::vector<std::string> docs;
  for (const std::string& path : opts.files) {
    MBERT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
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
          return Status::Error(path + ":" + std::to_string(lineno) + ": expected a JSON object "
                               "with a string field \"" + opts.jsonl_field + "\"");
        SplitDocuments(j[opts.jsonl_field].get<std::string>(), opts.split, &docs);
      }
    } else {
      SplitDocuments(text, opts.split, &docs);
    }
  }
  std::vector<TextPair> inputs(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) inputs[i].text = docs[i];
  std::vector<Result<Encoding>> enc = tok.EncodeBatch(inputs, {}, threads);
  TextDataset ds;
  int64_t kept = 0;
  for (size_t i = 0; i < enc.size(); ++i) {
    if (!enc[i].ok()) return enc[i].status().Wrap("tokenizing training document " + std::to_string(i));
    std::vector<int32_t> ids = std::move(enc[i]).value().ids;
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
      ds.eval.push_back(std::move(ids));
    } else {
      ds.train_tokens += static_cast<int64_t>(ids.size());
      ds.train.push_back(std::move(ids));
    }
  }
  if (ds.train.empty()) return Status::Error("no training documents with at least " +
                                             std::to_string(opts.min_tokens) + " tokens");
  return ds;
}

}  // namespace mbert
