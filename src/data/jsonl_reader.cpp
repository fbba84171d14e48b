#include "data/jsonl_reader.h"

#include <fstream>

#include "data/jsonl_lines.h"
#include "data/parse_error.h"

namespace mbert::data {

namespace {

// The caller's field name, or the first default present in `obj` (or the first default).
std::string Pick(const nlohmann::json& obj, const std::string& name,
                 const std::vector<std::string>& defaults) {
  if (!name.empty()) return name;
  for (const std::string& d : defaults)
    if (obj.contains(d)) return d;
  return defaults.front();
}

}  // namespace

Result<TextDataset> ReadJsonl(std::istream& in, const std::string& name, const TableOptions& opts) {
  JsonlLines lines(in, name);
  TextDataset ds;
  ds.source = name;
  ds.kind = opts.kind;
  std::string text_key, pair_key, label_key;
  nlohmann::json obj;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, lines.Next(&obj));
    if (!more) break;
    if (ds.examples.empty()) {
      // The first line fixes the field names (defaults resolved once, as a header would).
      text_key = Pick(obj, opts.text_column, {"text", "sentence", "sentence1"});
      pair_key = Pick(obj, opts.text_pair_column, {"text_pair", "sentence2"});
      ds.has_pair = !opts.text_pair_column.empty() || obj.contains(pair_key);
      label_key = Pick(obj, opts.label_column, {"label"});
    }
    TextExample e;
    e.line = lines.line();
    MBERT_RETURN_IF_ERROR(lines.String(obj, text_key, true, &e.text));
    if (ds.has_pair) {
      MBERT_RETURN_IF_ERROR(lines.String(obj, pair_key, true, &e.text_pair));
    } else if (obj.contains(pair_key)) {
      // The first line fixed single texts; a pair further down would be dropped silently.
      return lines.FieldError(
          pair_key, "present here but not on line 1: give every line a '" + pair_key + "' or none");
    }
    const auto it = obj.find(label_key);
    if (it == obj.end() || it->is_null())
      return lines.FieldError(label_key, "missing: every line needs a label");
    if (it->is_string()) {
      e.label = it->get<std::string>();
    } else if (it->is_number_integer() ||
               (opts.kind == LabelKind::kRegression && it->is_number())) {
      e.label = it->dump();
    } else {
      return lines.FieldError(label_key, std::string(opts.kind == LabelKind::kRegression
                                                         ? "expected a number"
                                                         : "expected a string or an integer") +
                                             ", got " + it->type_name());
    }
    ds.examples.push_back(std::move(e));
  }
  MBERT_RETURN_IF_ERROR(ResolveLabels(&ds, opts.labels));
  return ds;
}

Result<TextDataset> ReadJsonl(const std::string& path, const TableOptions& opts) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return Status::Error(path + ": cannot open (check the path)");
  return ReadJsonl(in, path, opts);
}

}  // namespace mbert::data
