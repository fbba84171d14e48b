// libFuzzer target: the data readers (src/data) on arbitrary bytes. The first byte picks the
// reader and its options; the rest is the file. Any input must give examples or a Status error
// that names the file; never a crash, an uncaught exception or undefined behaviour. What is
// accepted is checked for the invariants the callers rely on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "data/beir.h"
#include "data/conll.h"
#include "data/glue.h"
#include "data/jsonl_reader.h"
#include "data/table_reader.h"

namespace {

using namespace mbert::data;

void CheckError(const mbert::Status& s) {
  if (!s.ok() && s.message().rfind("fuzz", 0) != 0) std::abort();  // errors name the file
}

void CheckExamples(const mbert::Result<TextDataset>& r) {
  if (!r.ok()) return CheckError(r.status());
  for (const TextExample& e : r->examples) {
    if (r->kind == LabelKind::kClassification &&
        (e.label_id < 0 || e.label_id >= r->labels.size() ||
         r->labels.Label(e.label_id) != e.label))
      std::abort();
    if (e.line < 1) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t sel = data[0];
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  TableOptions opts;
  if (sel & 0x10) opts.kind = LabelKind::kRegression;
  if (sel & 0x20) opts.labels = {"0", "1"};
  switch (sel % 8) {
    case 0:
      CheckExamples(ReadTable(in, "fuzz.tsv", Dialect::kTsv, opts));
      break;
    case 1:
      CheckExamples(ReadTable(in, "fuzz.csv", Dialect::kCsv, opts));
      break;
    case 2:
      CheckExamples(ReadJsonl(in, "fuzz.jsonl", opts));
      break;
    case 3: {
      const auto& tasks = GlueTasks();
      CheckExamples(ReadGlueFile(tasks[(sel >> 3) % tasks.size()], in, "fuzz.tsv"));
      break;
    }
    case 4:
      CheckError(ReadBeirCorpus(in, "fuzz.jsonl").status());
      break;
    case 5:
      CheckError(ReadBeirQueries(in, "fuzz.jsonl").status());
      break;
    case 6:
      CheckError(ReadQrels(in, "fuzz.tsv").status());
      break;
    default: {
      ConllOptions o;
      o.tag_column = (sel & 0x40) ? 1 : -1;
      auto r = ReadConll(in, "fuzz.conll", o);
      if (!r.ok()) {
        CheckError(r.status());
        break;
      }
      for (const TaggedSentence& s : r->sentences)
        if (s.tokens.empty() || s.tokens.size() != s.tag_ids.size()) std::abort();
      break;
    }
  }
  return 0;
}
