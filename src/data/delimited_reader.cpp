#include "data/delimited_reader.h"

#include <utility>

#include "data/parse_error.h"

namespace mbert::data {

Result<DelimitedReader> DelimitedReader::Open(const std::string& path, Dialect dialect) {
  auto f = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!f->is_open())
    return Status::Error(path + ": cannot open (check the path and that the file is readable)");
  return DelimitedReader(std::move(f), path, dialect);
}

DelimitedReader::DelimitedReader(std::istream& in, std::string name, Dialect dialect)
    : in_(&in), name_(std::move(name)), dialect_(dialect) {}

DelimitedReader::DelimitedReader(std::unique_ptr<std::ifstream> file, std::string name,
                                 Dialect dialect)
    : file_(std::move(file)), in_(file_.get()), name_(std::move(name)), dialect_(dialect) {}

bool DelimitedReader::ReadLine(std::string* line) {
  if (!std::getline(*in_, *line)) return false;
  ++line_;
  if (line_ == 1 && line->compare(0, 3, "\xEF\xBB\xBF") == 0) line->erase(0, 3);
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

Result<bool> DelimitedReader::Next(Record* out) {
  if (dialect_ == Dialect::kCsv) return NextCsv(out);
  std::string line;
  if (!ReadLine(&line)) return false;
  out->fields.clear();
  out->columns.clear();
  out->line = line_;
  if (line.empty())
    return ParseError(name_, line_, 1, "empty line: expected a tab-separated row; remove the line");
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    out->columns.push_back(static_cast<int64_t>(start) + 1);
    if (tab == std::string::npos) {
      out->fields.push_back(line.substr(start));
      break;
    }
    out->fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
  return true;
}

Result<bool> DelimitedReader::NextCsv(Record* out) {
  std::string line;
  if (!ReadLine(&line)) return false;
  out->fields.clear();
  out->columns.clear();
  out->line = line_;
  if (line.empty())
    return ParseError(name_, line_, 1,
                      "empty line: expected a comma-separated row; remove the line");
  size_t i = 0;
  while (true) {
    // At the start of a field.
    out->columns.push_back(static_cast<int64_t>(i) + 1);
    std::string field;
    if (i < line.size() && line[i] == '"') {
      const int64_t open_line = line_;
      const int64_t open_col = static_cast<int64_t>(i) + 1;
      ++i;
      while (true) {
        if (i >= line.size()) {
          // The quoted field goes on on the next line; the newline is part of the field.
          if (!ReadLine(&line))
            return ParseError(name_, open_line, open_col,
                              "quoted field never closed before the end of the file: expected a "
                              "closing '\"' (write a '\"' inside a quoted field as '\"\"')");
          field += '\n';
          i = 0;
          continue;
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;  // the closing quote
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',')
        return ParseError(name_, line_, static_cast<int64_t>(i) + 1,
                          "text after the closing quote of a quoted field: expected ',' or the "
                          "end of the line (quote the whole field and double inner quotes)");
    } else {
      const size_t end = line.find(',', i);
      field = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
      const size_t quote = field.find('"');
      if (quote != std::string::npos)
        return ParseError(name_, line_, static_cast<int64_t>(i + quote) + 1,
                          "'\"' inside an unquoted field: RFC 4180 allows quotes only in quoted "
                          "fields (write the field as \"...\" with the quote doubled)");
      i = end == std::string::npos ? line.size() : end;
    }
    out->fields.push_back(std::move(field));
    if (i >= line.size()) break;
    ++i;  // the comma; a comma at the end of the line starts one more (empty) field
  }
  return true;
}

Result<Dialect> DialectOfPath(const std::string& path) {
  auto ends = [&](const char* s) { return path.ends_with(s); };
  if (ends(".tsv") || ends(".txt") || ends(".TSV") || ends(".TXT")) return Dialect::kTsv;
  if (ends(".csv") || ends(".CSV")) return Dialect::kCsv;
  return Status::Error(path +
                       ": unknown table format: expected a .tsv, .txt or .csv file name "
                       "(or name the format explicitly)");
}

}  // namespace mbert::data
