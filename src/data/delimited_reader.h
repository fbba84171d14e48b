// Streaming reader of delimited text: TSV as GLUE writes it (tab-separated, no quoting: a '"' is
// an ordinary character) and CSV as RFC 4180 defines it (comma-separated; a field that starts
// with '"' is quoted, '""' inside it is one '"', and it may span lines). One record is held at a
// time, so memory is bounded by the longest record.
//
// Conventions: a UTF-8 byte order mark at the very start of the file is dropped (MRPC's test file
// has one); records end at "\n" or "\r\n"; the last record may lack its newline. Malformed input
// is an error naming file, line and column, never skipped:
//   - an empty line (a blank row is not a record; remove it);
//   - CSV: a '"' inside an unquoted field, text after a closing quote, a quote left open at the
//     end of the file (the error names where it was opened).
#pragma once

#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert::data {

enum class Dialect { kTsv, kCsv };

struct Record {
  std::vector<std::string> fields;
  std::vector<int64_t> columns;  // 1-based byte column where each field starts (on `line`)
  int64_t line = 0;              // 1-based line where the record starts
};

class DelimitedReader {
 public:
  // Reads `path`; an error if it cannot be opened.
  static Result<DelimitedReader> Open(const std::string& path, Dialect dialect);
  // Reads from `in` (kept by reference; tests and the fuzzer use a string stream); `name` is the
  // file name errors carry.
  DelimitedReader(std::istream& in, std::string name, Dialect dialect);

  // The next record into `out`: true, or false at the end of the input, or an error.
  Result<bool> Next(Record* out);

  const std::string& name() const { return name_; }
  Dialect dialect() const { return dialect_; }

 private:
  DelimitedReader(std::unique_ptr<std::ifstream> file, std::string name, Dialect dialect);
  bool ReadLine(std::string* line);  // without its "\n" / "\r\n"; false at the end
  Result<bool> NextCsv(Record* out);

  std::unique_ptr<std::ifstream> file_;  // owned when opened from a path
  std::istream* in_;
  std::string name_;
  Dialect dialect_;
  int64_t line_ = 0;  // lines read so far
};

// "tsv" for .tsv/.txt, "csv" for .csv, by the file's extension; an error for anything else.
Result<Dialect> DialectOfPath(const std::string& path);

}  // namespace mbert::data
