// Raw corpus sources: what `--source NAME=PATH[:GLOB[,GLOB...]]` names, the files it covers, and
// how a file's bytes become documents.
//
// File kinds (by extension, case-insensitive):
//   .jsonl                     one document per non-blank line: the line's string field (default
//                              "text"); a line that is not such an object is an error naming the
//                              file and line
//   .txt .text                 paragraphs (runs of lines separated by blank lines) are documents,
//                              as the trainer's text data
//   .html .htm .xhtml          HtmlToText (text_convert.h); the file is one document
//   .rst .rst.txt              RstToText; the file is one document (.rst.txt: Sphinx _sources)
//   code (.py .go .java .c .h .cc .cpp .hpp .rs .pl .pm .pod .sh .js .ts .rb .S .s .el .lisp
//   .scm .hs .ml .md .tex .json .toml .yaml .yml .xml .cfg .ini ...)
//                              the file as it is is one document
//   no extension               one document if the file is text (a name like README or
//                              Makefile); counted as invalid otherwise
// A directory without GLOB takes every file of a known kind (recursively, symlinks not
// followed); with GLOB, files whose name or relative path matches one of the patterns
// (fnmatch(3)), read as their kind, unknown ones as plain one-document text.
// A file with a NUL byte in its first 8 KiB is binary: skipped and counted (dropped_invalid).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mbert/status.h"

namespace mbert::corpus {

struct SourceSpec {
  std::string name;                // [A-Za-z0-9_.-]+, names the shards and manifest entry
  std::string path;                // a file or a directory
  std::vector<std::string> globs;  // empty: every file of a known kind
};

// Parses "NAME=PATH[:GLOB[,GLOB...]]"; the error says which part is wrong and shows the form.
Result<SourceSpec> ParseSourceSpec(std::string_view arg);

struct SourceFile {
  std::string path;
  uint64_t bytes = 0;
};

// The files of a source in byte-wise order of path (the order documents are numbered in, so it
// does not depend on the file system's directory order). An error if PATH does not exist or
// yields no file.
Result<std::vector<SourceFile>> ListSourceFiles(const SourceSpec& spec);

enum class FileKind { kJsonl, kParagraphs, kHtml, kRst, kWholeFile, kUnknown };
FileKind KindOfPath(std::string_view path);

// The documents of one file (`content` is its bytes), in file order. Markup is converted; blank
// documents are kept (the caller counts and drops them). Binary files give no documents and
// *binary = true.
Status SplitDocuments(const std::string& path, const std::string& content,
                      const std::string& jsonl_field, std::vector<std::string>* docs, bool* binary);

}  // namespace mbert::corpus
