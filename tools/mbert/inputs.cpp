#include "inputs.h"

#include <charconv>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>

namespace mbert::cli {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Whitespace-separated non-negative int32 token ids.
Status ParseIds(std::string_view line, const std::string& where, std::vector<int32_t>* ids) {
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    size_t end = i;
    while (end < line.size() && !IsSpace(line[end])) ++end;
    if (end == i) break;
    const std::string_view tok = line.substr(i, end - i);
    int64_t v = -1;
    // from_chars: no locale, no exceptions, no leading '+' or spaces; the whole token must parse.
    const auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec != std::errc() || ptr != tok.data() + tok.size() || v < 0 || v > INT32_MAX)
      return Status::Error(where + ": '" + std::string(tok.substr(0, 40)) +
                           "' is not a token id (non-negative integer)");
    ids->push_back(static_cast<int32_t>(v));
    i = end;
  }
  return Status::Ok();
}

}  // namespace

Result<InputFormat> ParseInputFormat(const std::string& s) {
  if (s == "text") return InputFormat::kText;
  if (s == "jsonl") return InputFormat::kJsonl;
  if (s == "ids") return InputFormat::kIds;
  return Status::Error("--format '" + s + "' must be text, jsonl or ids");
}

Result<std::optional<InputRecord>> ParseInputLine(std::string_view line, InputFormat format,
                                                  const std::string& where) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  InputRecord r;
  if (format == InputFormat::kText) {
    if (line.empty()) return std::optional<InputRecord>();
    r.text = std::string(line);
    return std::optional<InputRecord>(std::move(r));
  }
  if (format == InputFormat::kIds) {
    MBERT_RETURN_IF_ERROR(ParseIds(line, where, &r.ids));
    if (r.ids.empty()) return std::optional<InputRecord>();
    r.has_ids = true;
    return std::optional<InputRecord>(std::move(r));
  }
  if (line.find_first_not_of(" \t") == std::string_view::npos) return std::optional<InputRecord>();
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::Error(where + ": not a JSON object (expected {\"text\": \"...\"})");
  if (auto t = j.find("text"); t != j.end()) {
    if (!t->is_string()) return Status::Error(where + ": \"text\" must be a string");
    r.text = t->get<std::string>();
    if (auto p = j.find("text_pair"); p != j.end()) {
      if (!p->is_string()) return Status::Error(where + ": \"text_pair\" must be a string");
      r.text_pair = p->get<std::string>();
    }
  } else if (auto ids = j.find("input_ids"); ids != j.end()) {
    if (!ids->is_array() || ids->empty())
      return Status::Error(where + ": \"input_ids\" must be a non-empty list of integers");
    for (const auto& v : *ids) {
      // is_number_integer holds for unsigned values above INT64_MAX too: compare them unsigned.
      const bool ok = v.is_number_unsigned() ? v.get<uint64_t>() <= INT32_MAX
                                             : v.is_number_integer() && v.get<int64_t>() >= 0 &&
                                                   v.get<int64_t>() <= INT32_MAX;
      if (!ok)
        return Status::Error(where + ": \"input_ids\" must hold integers in [0, 2147483647]");
      r.ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    r.has_ids = true;
  } else {
    return Status::Error(where + ": object has neither \"text\" nor \"input_ids\"");
  }
  return std::optional<InputRecord>(std::move(r));
}

Result<InputReader> InputReader::Open(std::vector<std::string> args, const std::string& path,
                                      InputFormat format) {
  if (!args.empty()) return InputReader(std::move(args), format);
  if (path == "-") return InputReader(&std::cin, format, "stdin");
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) return Status::Error(path + ": cannot open the input file (--input)");
  InputReader r(file.get(), format, path);
  r.file_ = std::move(file);
  return r;
}

InputReader::InputReader(std::istream* in, InputFormat format, std::string origin)
    : in_(in), format_(format), origin_(std::move(origin)) {}

InputReader::InputReader(std::vector<std::string> args, InputFormat format)
    : args_(std::move(args)), format_(format), origin_("argument") {}

bool InputReader::NextLine(std::string* line) {
  if (in_ != nullptr) return static_cast<bool>(std::getline(*in_, *line));
  if (next_arg_ >= args_.size()) return false;
  *line = std::move(args_[next_arg_++]);
  return true;
}

Result<bool> InputReader::Next(std::vector<InputRecord>* chunk) {
  chunk->clear();
  size_t bytes = 0;
  std::string line;
  while (chunk->size() < kChunkInputs && bytes < kChunkBytes && NextLine(&line)) {
    ++lineno_;
    MBERT_ASSIGN_OR_RETURN(std::optional<InputRecord> r,
                           ParseInputLine(line, format_, origin_ + ":" + std::to_string(lineno_)));
    if (!r) continue;
    r->line = lineno_;
    bytes += line.size();
    chunk->push_back(std::move(*r));
  }
  if (in_ != nullptr && in_->bad())
    return Status::Error(origin_ + ": read error after line " + std::to_string(lineno_));
  inputs_read_ += static_cast<int64_t>(chunk->size());
  if (chunk->empty() && inputs_read_ == 0)
    return Status::Error(origin_ + ": empty input (no lines to process)");
  return !chunk->empty();
}

}  // namespace mbert::cli
