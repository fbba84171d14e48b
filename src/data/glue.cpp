#include "data/glue.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include "data/delimited_reader.h"
#include "data/parse_error.h"

namespace mbert::data {

const std::vector<GlueTask>& GlueTasks() {
  static const std::vector<GlueTask> kTasks = [] {
    std::vector<GlueTask> t;
    t.push_back({"SST-2",
                 ".tsv",
                 {"sentence", "label"},
                 0,
                 -1,
                 1,
                 LabelKind::kClassification,
                 {"0", "1"},
                 {"train", "dev", "test"},
                 "test",
                 "accuracy"});
    t.push_back({"CoLA",
                 ".tsv",
                 {},
                 3,
                 -1,
                 1,
                 LabelKind::kClassification,
                 {"0", "1"},
                 {"train", "val", "dev"},
                 "dev",
                 "matthews"});
    t.push_back({"RTE",
                 ".tsv",
                 {"index", "sentence1", "sentence2", "label"},
                 1,
                 2,
                 3,
                 LabelKind::kClassification,
                 {"entailment", "not_entailment"},
                 {"train", "val", "dev"},
                 "dev",
                 "accuracy"});
    t.push_back({"MRPC",
                 ".txt",
                 {"Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"},
                 3,
                 4,
                 0,
                 LabelKind::kClassification,
                 {"0", "1"},
                 {"train", "dev", "test"},
                 "test",
                 "f1+accuracy"});
    t.push_back({"STS-B",
                 ".tsv",
                 {"index", "genre", "filename", "year", "old_index", "source1", "source2",
                  "sentence1", "sentence2", "score"},
                 7,
                 8,
                 9,
                 LabelKind::kRegression,
                 {},
                 {"train", "dev", "test"},
                 "test",
                 "pearson+spearman"});
    return t;
  }();
  return kTasks;
}

namespace {

std::string Squash(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// CoLA has no header: source, label, original mark, sentence.
size_t ColumnCount(const GlueTask& t) { return t.header.empty() ? 4 : t.header.size(); }

}  // namespace

Result<GlueTask> FindGlueTask(const std::string& name) {
  std::string names;
  for (const GlueTask& t : GlueTasks()) {
    if (Squash(t.name) == Squash(name)) return t;
    names += (names.empty() ? "" : ", ") + t.name;
  }
  return Status::Error("unknown GLUE task '" + name + "': expected one of " + names);
}

Result<TextDataset> ReadGlueFile(const GlueTask& task, std::istream& in, const std::string& name) {
  DelimitedReader reader(in, name, Dialect::kTsv);
  TextDataset ds;
  ds.source = name;
  ds.kind = task.kind;
  ds.has_pair = task.text_pair >= 0;
  const size_t ncol = ColumnCount(task);
  Record r;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, reader.Next(&r));
    if (!more) break;
    if (r.line == 1 && !task.header.empty() && r.fields == task.header) continue;  // the header
    if (r.fields.size() != ncol) {
      const int64_t col = r.fields.size() > ncol ? r.columns[ncol] : r.columns.back();
      return ParseError(name, r.line, col,
                        task.name + " rows have " + std::to_string(ncol) +
                            " tab-separated fields, got " + std::to_string(r.fields.size()) +
                            " (a tab inside a text, or a truncated row?)");
    }
    TextExample e;
    e.text = std::move(r.fields[task.text]);
    if (task.text_pair >= 0) e.text_pair = std::move(r.fields[task.text_pair]);
    e.label = std::move(r.fields[task.label]);
    e.line = r.line;
    e.label_column = r.columns[task.label];
    ds.examples.push_back(std::move(e));
  }
  MBERT_RETURN_IF_ERROR(ResolveLabels(&ds, task.labels));
  if (task.kind == LabelKind::kRegression) {
    for (const TextExample& e : ds.examples)
      if (e.value < 0 || e.value > 5)
        return ParseError(name, e.line, e.label_column,
                          "similarity score " + e.label + " outside [0, 5]");
  }
  return ds;
}

Result<TextDataset> ReadGlue(const std::string& glue_dir, const std::string& task_name,
                             const std::string& split) {
  MBERT_ASSIGN_OR_RETURN(GlueTask task, FindGlueTask(task_name));
  if (std::find(task.splits.begin(), task.splits.end(), split) == task.splits.end()) {
    std::string s;
    for (const std::string& x : task.splits) s += (s.empty() ? "" : ", ") + x;
    return Status::Error("GLUE " + task.name + " has no split '" + split + "': expected one of " +
                         s + " (the official dev set is '" + task.official_dev + "')");
  }
  const std::string path = glue_dir + "/" + task.name + "/" + split + task.extension;
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open())
    return Status::Error(path + ": cannot open (is --data the glue directory that holds " +
                         task.name + "/?)");
  return ReadGlueFile(task, in, path);
}

}  // namespace mbert::data
