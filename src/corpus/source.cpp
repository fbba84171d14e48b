#include "corpus/source.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "corpus/text_convert.h"

namespace mbert::corpus {

namespace fs = std::filesystem;

namespace {

std::string LowerExtension(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  std::string e(base.substr(dot));
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

bool Matches(const std::vector<std::string>& globs, const std::string& rel) {
  const std::string base = fs::path(rel).filename().string();
  for (const std::string& g : globs)
    if (fnmatch(g.c_str(), base.c_str(), 0) == 0 || fnmatch(g.c_str(), rel.c_str(), 0) == 0)
      return true;
  return false;
}

void SplitParagraphs(std::string_view text, std::vector<std::string>* docs) {
  std::string cur;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t\f\v") == std::string_view::npos) {
      if (!cur.empty()) docs->push_back(std::move(cur));
      cur.clear();
    } else {
      if (!cur.empty()) cur.push_back('\n');
      cur += line;
    }
    pos = nl + 1;
  }
  if (!cur.empty()) docs->push_back(std::move(cur));
}

}  // namespace

Result<SourceSpec> ParseSourceSpec(std::string_view arg) {
  const std::string form = " (expected --source NAME=PATH or NAME=PATH:GLOB[,GLOB...], e.g. " +
                           std::string("python=/usr/lib/python3.11:*.py)");
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return Status::Error("--source '" + std::string(arg) + "' has no NAME=" + form);
  SourceSpec s;
  s.name = std::string(arg.substr(0, eq));
  for (char c : s.name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return Status::Error("--source name '" + s.name +
                           "' may use only letters, digits, '_', '-' and '.' (it names shard "
                           "files)" +
                           form);
  if (s.name.size() > 64 || s.name == "." || s.name == "..")
    return Status::Error("--source name '" + s.name + "' must be 1-64 characters, not . or .." +
                         form);
  std::string_view rest = arg.substr(eq + 1);
  const size_t colon = rest.find(':');
  s.path = std::string(rest.substr(0, colon));
  if (s.path.empty())
    return Status::Error("--source '" + std::string(arg) + "' has no PATH" + form);
  if (colon != std::string_view::npos) {
    std::string_view globs = rest.substr(colon + 1);
    while (!globs.empty()) {
      const size_t comma = globs.find(',');
      const std::string g(globs.substr(0, comma));
      if (!g.empty()) s.globs.push_back(g);
      if (comma == std::string_view::npos) break;
      globs.remove_prefix(comma + 1);
    }
    if (s.globs.empty())
      return Status::Error("--source '" + std::string(arg) + "' has an empty GLOB after ':'" +
                           form);
  }
  return s;
}

FileKind KindOfPath(std::string_view path) {
  const std::string e = LowerExtension(path);
  // Sphinx ships reST sources as _sources/*.rst.txt (Python's documentation).
  if (e == ".txt" && path.size() >= 8 && LowerExtension(path.substr(0, path.size() - 4)) == ".rst")
    return FileKind::kRst;
  if (e == ".jsonl") return FileKind::kJsonl;
  if (e == ".txt" || e == ".text") return FileKind::kParagraphs;
  if (e == ".html" || e == ".htm" || e == ".xhtml") return FileKind::kHtml;
  if (e == ".rst") return FileKind::kRst;
  static const char* kWhole[] = {
      ".py",   ".go",  ".java", ".c",     ".h",   ".cc",  ".cpp",  ".cxx",   ".hpp",  ".hh",
      ".rs",   ".pl",  ".pm",   ".pod",   ".sh",  ".js",  ".ts",   ".rb",    ".s",    ".el",
      ".lisp", ".scm", ".hs",   ".ml",    ".md",  ".tex", ".json", ".toml",  ".yaml", ".yml",
      ".xml",  ".cfg", ".ini",  ".awk",   ".sed", ".lua", ".php",  ".swift", ".kt",   ".scala",
      ".sql",  ".css", ".mk",   ".cmake", ".asm", ".f",   ".f90",  ".m",     ".r",    ".jl",
      ".dart", ".zig", ".nim",  ".v",     ".vhd"};
  for (const char* w : kWhole)
    if (e == w) return FileKind::kWholeFile;
  if (e.empty()) return FileKind::kWholeFile;  // README, Makefile, COPYING, ...
  return FileKind::kUnknown;
}

Result<std::vector<SourceFile>> ListSourceFiles(const SourceSpec& spec) {
  std::error_code ec;
  const fs::file_status st = fs::status(spec.path, ec);
  if (ec || !fs::exists(st))
    return Status::Error("source '" + spec.name + "': " + spec.path +
                         " does not exist; give an existing file or directory");
  std::vector<SourceFile> files;
  if (fs::is_regular_file(st)) {
    files.push_back({spec.path, static_cast<uint64_t>(fs::file_size(spec.path, ec))});
    return files;
  }
  if (!fs::is_directory(st))
    return Status::Error("source '" + spec.name + "': " + spec.path +
                         " is neither a regular file nor a directory");
  fs::recursive_directory_iterator it(spec.path, fs::directory_options::skip_permission_denied, ec);
  if (ec)
    return Status::Error("source '" + spec.name + "': cannot list " + spec.path + ": " +
                         ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec)
      return Status::Error("source '" + spec.name + "': listing " + spec.path + ": " +
                           ec.message());
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const std::string p = it->path().string();
    const std::string rel = fs::relative(it->path(), spec.path, ec).generic_string();
    const bool take =
        spec.globs.empty() ? KindOfPath(p) != FileKind::kUnknown : Matches(spec.globs, rel);
    if (take) files.push_back({p, static_cast<uint64_t>(it->file_size(ec))});
  }
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  if (files.empty())
    return Status::Error("source '" + spec.name + "': no files under " + spec.path +
                         (spec.globs.empty() ? " of a known kind (see `mbert data prepare --help`)"
                                             : " match the GLOB; check the pattern"));
  return files;
}

Status SplitDocuments(const std::string& path, const std::string& content,
                      const std::string& jsonl_field, std::vector<std::string>* docs,
                      bool* binary) {
  *binary = false;
  if (content.find('\0', 0) < std::min<size_t>(content.size(), 8192)) {
    *binary = true;
    return Status::Ok();
  }
  switch (KindOfPath(path)) {
    case FileKind::kJsonl: {
      size_t pos = 0;
      int64_t lineno = 0;
      while (pos < content.size()) {
        size_t nl = content.find('\n', pos);
        if (nl == std::string::npos) nl = content.size();
        const std::string_view line(content.data() + pos, nl - pos);
        pos = nl + 1;
        ++lineno;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object() || !j.contains(jsonl_field) ||
            !j[jsonl_field].is_string())
          return Status::Error(path + ":" + std::to_string(lineno) +
                               ": expected a JSON object with a string field \"" + jsonl_field +
                               "\" (set another field with --jsonl-field)");
        docs->push_back(j[jsonl_field].get<std::string>());
      }
      return Status::Ok();
    }
    case FileKind::kParagraphs:
      SplitParagraphs(content, docs);
      return Status::Ok();
    case FileKind::kHtml:
      docs->push_back(HtmlToText(content));
      return Status::Ok();
    case FileKind::kRst:
      docs->push_back(RstToText(content));
      return Status::Ok();
    case FileKind::kWholeFile:
    case FileKind::kUnknown:
      docs->push_back(content);
      return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace mbert::corpus
