#include "data/conll.h"

#include <fstream>

#include "data/parse_error.h"

namespace mbert::data {

Result<bool> ConllReader::Next(TaggedSentence* out) {
  out->tokens.clear();
  out->tags.clear();
  out->tag_ids.clear();
  out->token_lines.clear();
  out->line = 0;
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    if (line_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Split on runs of spaces and tabs, remembering where each column starts.
    std::vector<std::string> cols;
    std::vector<int64_t> starts;
    for (size_t i = 0; i < line.size();) {
      if (line[i] == ' ' || line[i] == '\t') {
        ++i;
        continue;
      }
      const size_t j = line.find_first_of(" \t", i);
      const size_t end = j == std::string::npos ? line.size() : j;
      cols.push_back(line.substr(i, end - i));
      starts.push_back(static_cast<int64_t>(i) + 1);
      i = end;
    }
    if (cols.empty()) {  // a sentence boundary
      if (!out->tokens.empty()) return true;
      continue;
    }
    if (cols[0] == "-DOCSTART-") continue;
    const int tag = opts_.tag_column < 0 ? static_cast<int>(cols.size()) - 1 : opts_.tag_column;
    if (cols.size() < 2 || tag < 1 || tag >= static_cast<int>(cols.size()))
      return ParseError(
          name_, line_, starts.back(),
          "expected a token and its tag" +
              (opts_.tag_column < 0 ? std::string(" separated by a space or tab")
                                    : " in column " + std::to_string(opts_.tag_column + 1)) +
              ", got " + std::to_string(cols.size()) + " column(s)");
    if (out->tokens.empty()) out->line = line_;
    out->token_lines.push_back(line_);
    out->tokens.push_back(std::move(cols[0]));
    out->tags.push_back(std::move(cols[tag]));
  }
  return !out->tokens.empty();
}

Result<TaggedDataset> ReadConll(std::istream& in, const std::string& name,
                                const ConllOptions& opts) {
  ConllReader reader(in, name, opts);
  TaggedDataset ds;
  ds.source = name;
  TaggedSentence s;
  std::vector<std::string> seen;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, reader.Next(&s));
    if (!more) break;
    if (opts.labels.empty()) seen.insert(seen.end(), s.tags.begin(), s.tags.end());
    ds.sentences.push_back(s);
  }
  if (opts.labels.empty()) {
    ds.labels = LabelMap::FromSeen(seen);
  } else {
    MBERT_ASSIGN_OR_RETURN(ds.labels, LabelMap::FromList(opts.labels));
  }
  for (TaggedSentence& sent : ds.sentences) {
    for (size_t i = 0; i < sent.tags.size(); ++i) {
      const int64_t id = ds.labels.Id(sent.tags[i]);
      if (id < 0)
        return ParseError(name, sent.token_lines[i], 0,
                          "tag '" + sent.tags[i] + "' is not in the label list");
      sent.tag_ids.push_back(id);
    }
  }
  return ds;
}

Result<TaggedDataset> ReadConll(const std::string& path, const ConllOptions& opts) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return Status::Error(path + ": cannot open (check the path)");
  return ReadConll(in, path, opts);
}

}  // namespace mbert::data
