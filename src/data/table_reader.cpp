#include "data/table_reader.h"

#include <algorithm>

#include "data/parse_error.h"

namespace mbert::data {

namespace {

// Index of `name` in the header (or of the first default present when `name` is empty); -1 when
// absent and `required` is false.
Result<int> FindColumn(const Record& header, const std::string& file, const std::string& name,
                       const std::vector<std::string>& defaults, bool required, const char* role) {
  auto find = [&](const std::string& n) -> int {
    const auto it = std::find(header.fields.begin(), header.fields.end(), n);
    return it == header.fields.end() ? -1 : static_cast<int>(it - header.fields.begin());
  };
  if (!name.empty()) {
    const int i = find(name);
    if (i >= 0) return i;
  } else {
    for (const std::string& d : defaults)
      if (find(d) >= 0) return find(d);
    if (!required) return -1;
  }
  std::string names;
  for (const std::string& f : header.fields) names += (names.empty() ? "'" : ", '") + f + "'";
  std::string wanted = name;
  if (wanted.empty())
    for (const std::string& d : defaults) wanted += (wanted.empty() ? "" : "' or '") + d;
  return ParseError(file, header.line, 1,
                    std::string("header has no ") + role + " column '" + wanted +
                        "' (columns: " + names + "); name the column to use");
}

Result<TextDataset> ReadFrom(DelimitedReader& reader, const TableOptions& opts) {
  const std::string& file = reader.name();
  Record header;
  MBERT_ASSIGN_OR_RETURN(bool any, reader.Next(&header));
  if (!any) return ParseError(file, 1, 1, "empty file: expected a header row naming the columns");
  MBERT_ASSIGN_OR_RETURN(int text, FindColumn(header, file, opts.text_column,
                                              {"text", "sentence", "sentence1"}, true, "text"));
  MBERT_ASSIGN_OR_RETURN(int pair, FindColumn(header, file, opts.text_pair_column,
                                              {"text_pair", "sentence2"}, false, "text_pair"));
  if (!opts.text_pair_column.empty() && pair < 0)
    return ParseError(file, header.line, 1, "no column '" + opts.text_pair_column + "'");
  MBERT_ASSIGN_OR_RETURN(int label,
                         FindColumn(header, file, opts.label_column, {"label"}, true, "label"));
  TextDataset ds;
  ds.source = file;
  ds.kind = opts.kind;
  ds.has_pair = pair >= 0;
  Record r;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, reader.Next(&r));
    if (!more) break;
    if (r.fields.size() != header.fields.size()) {
      const int64_t col = r.fields.size() > header.fields.size() ? r.columns[header.fields.size()]
                                                                 : r.columns.back();
      return ParseError(file, r.line, col,
                        "expected " + std::to_string(header.fields.size()) +
                            " fields as in the header, got " + std::to_string(r.fields.size()));
    }
    TextExample e;
    e.text = std::move(r.fields[text]);
    if (pair >= 0) e.text_pair = std::move(r.fields[pair]);
    e.label = std::move(r.fields[label]);
    e.line = r.line;
    e.label_column = r.columns[label];
    ds.examples.push_back(std::move(e));
  }
  MBERT_RETURN_IF_ERROR(ResolveLabels(&ds, opts.labels));
  return ds;
}

}  // namespace

Result<TextDataset> ReadTable(const std::string& path, const TableOptions& opts) {
  Dialect d = Dialect::kTsv;
  if (opts.dialect) {
    d = *opts.dialect;
  } else {
    MBERT_ASSIGN_OR_RETURN(d, DialectOfPath(path));
  }
  MBERT_ASSIGN_OR_RETURN(DelimitedReader reader, DelimitedReader::Open(path, d));
  return ReadFrom(reader, opts);
}

Result<TextDataset> ReadTable(std::istream& in, const std::string& name, Dialect dialect,
                              const TableOptions& opts) {
  DelimitedReader reader(in, name, dialect);
  return ReadFrom(reader, opts);
}

}  // namespace mbert::data
