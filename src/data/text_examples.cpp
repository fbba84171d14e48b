#include "data/text_examples.h"

#include <charconv>
#include <cmath>

#include "data/parse_error.h"

namespace mbert::data {

Status ResolveLabels(TextDataset* ds, const std::vector<std::string>& fixed_labels) {
  if (ds->kind == LabelKind::kRegression) {
    for (TextExample& e : ds->examples) {
      const char* b = e.label.data();
      const char* end = b + e.label.size();
      double v = 0;
      const auto r = std::from_chars(b, end, v);
      if (e.label.empty() || r.ec != std::errc() || r.ptr != end || !std::isfinite(v))
        return ParseError(ds->source, e.line, e.label_column,
                          "label '" + e.label + "': expected a finite number (regression target)");
      e.value = v;
    }
    return Status::Ok();
  }
  if (fixed_labels.empty()) {
    std::vector<std::string> seen;
    seen.reserve(ds->examples.size());
    for (const TextExample& e : ds->examples) seen.push_back(e.label);
    ds->labels = LabelMap::FromSeen(seen);
  } else {
    MBERT_ASSIGN_OR_RETURN(ds->labels, LabelMap::FromList(fixed_labels));
  }
  for (TextExample& e : ds->examples) {
    e.label_id = ds->labels.Id(e.label);
    if (e.label_id < 0) {
      std::string allowed;
      for (const std::string& l : ds->labels.id2label())
        allowed += (allowed.empty() ? "'" : ", '") + l + "'";
      return ParseError(
          ds->source, e.line, e.label_column,
          "label '" + e.label + "' is not one of the task's labels (" + allowed + ")");
    }
    if (e.label.empty())
      return ParseError(ds->source, e.line, e.label_column, "empty label: every row needs one");
  }
  return Status::Ok();
}

}  // namespace mbert::data
