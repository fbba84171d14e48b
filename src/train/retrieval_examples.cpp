#include "train/retrieval_examples.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/delimited_reader.h"
#include "data/jsonl_lines.h"
#include "data/parse_error.h"
#include "train/retrieval_objectives.h"

namespace mbert {

namespace {

// Interns texts so that a document (or query) shared by examples is tokenized once.
class TextTable {
 public:
  TextTable(const Tokenizer& tok, const RetrievalFormat& f, bool query)
      : tok_(tok), f_(f), query_(query) {}
  Result<int64_t> Add(const std::string& key, const std::string& text,
                      std::vector<std::vector<int32_t>>* ids) {
    auto it = index_.find(key);
    if (it != index_.end()) return it->second;
    MBERT_ASSIGN_OR_RETURN(std::vector<int32_t> v, RetrievalIds(tok_, f_, text, query_));
    ids->push_back(std::move(v));
    const int64_t i = static_cast<int64_t>(ids->size()) - 1;
    index_.emplace(key, i);
    return i;
  }

 private:
  const Tokenizer& tok_;
  const RetrievalFormat& f_;
  bool query_;
  std::map<std::string, int64_t> index_;
};

}  // namespace

std::string BeirDocumentText(const data::BeirDoc& d) {
  return d.title.empty() ? d.text : d.title + " " + d.text;
}

Result<std::vector<int32_t>> RetrievalIds(const Tokenizer& tok, const RetrievalFormat& f,
                                          const std::string& text, bool query) {
  if (f.task == RetrievalTask::kDpr) {
    EncodeOptions o;
    o.truncation.enabled = f.max_length > 0;
    o.truncation.max_length = static_cast<size_t>(f.max_length);
    MBERT_ASSIGN_OR_RETURN(Encoding e, tok.Encode(text, o));
    return e.ids;
  }
  const ColbertIds ids{.cls = f.cls,
                       .sep = f.sep,
                       .mask = f.mask,
                       .query_prefix = f.query_prefix,
                       .document_prefix = f.document_prefix};
  return ColbertTextIds(tok, ids, text, query, query ? f.query_length : f.max_length);
}

Result<RetrievalTrainData> RetrievalTrainFromBeir(const data::BeirDataset& ds,
                                                  const std::string& source, const Tokenizer& tok,
                                                  const RetrievalFormat& f,
                                                  const std::string& hard_negatives_tsv) {
  std::map<std::string, const data::BeirDoc*> docs;
  for (const data::BeirDoc& d : ds.corpus) docs.emplace(d.id, &d);
  std::map<std::string, const data::BeirQuery*> queries;
  for (const data::BeirQuery& q : ds.queries) queries.emplace(q.id, &q);
  RetrievalTrainData out;
  out.source = source;
  TextTable qt(tok, f, true), dt(tok, f, false);
  auto add_query = [&](const std::string& id) {
    return qt.Add(id, queries.at(id)->text, &out.queries);
  };
  auto add_doc = [&](const std::string& id) {
    return dt.Add(id, BeirDocumentText(*docs.at(id)), &out.documents);
  };
  if (hard_negatives_tsv.empty()) {
    for (const auto& [qid, rels] : ds.qrels)
      for (const auto& [did, grade] : rels) {
        if (grade < 1) continue;
        RetrievalExample e;
        MBERT_ASSIGN_OR_RETURN(e.query, add_query(qid));
        MBERT_ASSIGN_OR_RETURN(e.positive, add_doc(did));
        out.examples.push_back(e);
      }
    if (out.examples.empty()) return Status::Error(source + ": no qrel with a grade >= 1");
    return out;
  }
  MBERT_ASSIGN_OR_RETURN(data::DelimitedReader reader,
                         data::DelimitedReader::Open(hard_negatives_tsv, data::Dialect::kTsv));
  data::Record r;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, reader.Next(&r));
    if (!more) break;
    if (r.line == 1 &&
        r.fields == std::vector<std::string>{"query-id", "positive-id", "negative-id"})
      continue;
    if (r.fields.size() != 3)
      return data::ParseError(hard_negatives_tsv, r.line, r.columns.back(),
                              "expected 3 tab-separated fields (query-id, positive-id, "
                              "negative-id), got " +
                                  std::to_string(r.fields.size()));
    const std::string &qid = r.fields[0], &pid = r.fields[1], &nid = r.fields[2];
    if (!queries.count(qid))
      return data::ParseError(hard_negatives_tsv, r.line, r.columns[0],
                              "query '" + qid + "' has no qrels in " + source);
    for (int i = 1; i < 3; ++i)
      if (!docs.count(r.fields[static_cast<size_t>(i)]))
        return data::ParseError(
            hard_negatives_tsv, r.line, r.columns[static_cast<size_t>(i)],
            "document '" + r.fields[static_cast<size_t>(i)] + "' is not in the corpus");
    const auto& rels = ds.qrels.at(qid);
    auto pit = rels.find(pid);
    if (pit == rels.end() || pit->second < 1)
      return data::ParseError(
          hard_negatives_tsv, r.line, r.columns[1],
          "'" + pid + "' is not a relevant document of query '" + qid + "' in " + source);
    RetrievalExample e;
    MBERT_ASSIGN_OR_RETURN(e.query, add_query(qid));
    MBERT_ASSIGN_OR_RETURN(e.positive, add_doc(pid));
    MBERT_ASSIGN_OR_RETURN(e.negative, add_doc(nid));
    out.examples.push_back(e);
  }
  if (out.examples.empty()) return Status::Error(hard_negatives_tsv + ": no triples");
  out.hard_negatives = true;
  return out;
}

Result<RetrievalTrainData> RetrievalTrainFromJsonl(const std::string& path, const Tokenizer& tok,
                                                   const RetrievalFormat& f) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return Status::Error(path + ": cannot open");
  data::JsonlLines lines(in, path);
  RetrievalTrainData out;
  out.source = path;
  TextTable qt(tok, f, true), dt(tok, f, false);
  nlohmann::json obj;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, lines.Next(&obj));
    if (!more) break;
    std::string q, p, n;
    MBERT_RETURN_IF_ERROR(lines.String(obj, "query", true, &q));
    MBERT_RETURN_IF_ERROR(lines.String(obj, "positive", true, &p));
    MBERT_RETURN_IF_ERROR(lines.String(obj, "negative", false, &n));
    const bool has_negative = obj.contains("negative") && !obj["negative"].is_null();
    if (!out.examples.empty() && has_negative != out.hard_negatives)
      return lines.FieldError("negative", has_negative
                                              ? "earlier lines have no negative; give one on "
                                                "every line or on none"
                                              : "earlier lines have a negative; give one on "
                                                "every line or on none");
    out.hard_negatives = has_negative;
    RetrievalExample e;
    MBERT_ASSIGN_OR_RETURN(e.query, qt.Add(q, q, &out.queries));
    MBERT_ASSIGN_OR_RETURN(e.positive, dt.Add(p, p, &out.documents));
    if (has_negative) {
      MBERT_ASSIGN_OR_RETURN(e.negative, dt.Add(n, n, &out.documents));
    }
    out.examples.push_back(e);
  }
  if (out.examples.empty()) return Status::Error(path + ": no examples");
  return out;
}

Result<RetrievalDevData> RetrievalDevFromBeir(const data::BeirDataset& ds,
                                              const std::string& source, const Tokenizer& tok,
                                              const RetrievalFormat& f) {
  RetrievalDevData out;
  out.source = source;
  out.qrels = ds.qrels;
  for (const data::BeirQuery& q : ds.queries) {
    MBERT_ASSIGN_OR_RETURN(std::vector<int32_t> ids, RetrievalIds(tok, f, q.text, true));
    out.query_ids.push_back(q.id);
    out.queries.push_back(std::move(ids));
  }
  for (const data::BeirDoc& d : ds.corpus) {
    MBERT_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                           RetrievalIds(tok, f, BeirDocumentText(d), false));
    out.doc_ids.push_back(d.id);
    out.documents.push_back(std::move(ids));
  }
  if (out.queries.empty()) return Status::Error(source + ": no dev queries");
  return out;
}

}  // namespace mbert
