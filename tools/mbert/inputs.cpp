#include "inputs.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace mbert::cli {

Result<InputFormat> ParseInputFormat(const std::string& s) {
  if (s == "text") return InputFormat::kText;
  if (s == "jsonl") return InputFormat::kJsonl;
  if (s == "ids") return InputFormat::kIds;
  return Status::Error("--format '" + s + "' must be text, jsonl or ids");
}

Result<std::vector<InputRecord>> ReadInputs(std::istream& in, InputFormat format,
                                            const std::string& origin) {
  std::vector<InputRecord> out;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = origin + ":" + std::to_string(lineno);
    InputRecord r;
    r.line = lineno;
    if (format == InputFormat::kText) {
      if (line.empty()) continue;
      r.text = line;
    } else if (format == InputFormat::kIds) {
      std::istringstream ss(line);
      std::string tok;
      while (ss >> tok) {
        size_t pos = 0;
        long long v = 0;
        try {
          v = std::stoll(tok, &pos);
        } catch (...) {
          pos = 0;
        }
        if (pos != tok.size() || v < 0 || v > INT32_MAX)
          return Status::Error(where + ": '" + tok + "' is not a token id (non-negative integer)");
        r.ids.push_back(static_cast<int32_t>(v));
      }
      if (r.ids.empty()) continue;
      r.has_ids = true;
    } else {
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
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
          if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
            return Status::Error(where + ": \"input_ids\" must hold non-negative integers");
          r.ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
        }
        r.has_ids = true;
      } else {
        return Status::Error(where + ": object has neither \"text\" nor \"input_ids\"");
      }
    }
    out.push_back(std::move(r));
  }
  if (out.empty()) return Status::Error(origin + ": empty input (no lines to process)");
  return out;
}

}  // namespace mbert::cli
