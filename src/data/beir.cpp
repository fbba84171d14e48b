#include "data/beir.h"

#include <charconv>
#include <fstream>
#include <set>
#include <unordered_set>

#include "data/delimited_reader.h"
#include "data/jsonl_lines.h"
#include "data/parse_error.h"

namespace mbert::data {

namespace {

// "_id" as a string (BEIR writes strings; a number would be ambiguous: 1 vs "01").
Status ReadId(const JsonlLines& lines, const nlohmann::json& obj, std::string* id) {
  MBERT_RETURN_IF_ERROR(lines.String(obj, "_id", true, id));
  if (id->empty()) return lines.FieldError("_id", "empty: every entry needs an id");
  return Status::Ok();
}

}  // namespace

Result<std::vector<BeirDoc>> ReadBeirCorpus(std::istream& in, const std::string& name) {
  JsonlLines lines(in, name);
  std::vector<BeirDoc> docs;
  std::unordered_set<std::string> seen;
  nlohmann::json obj;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, lines.Next(&obj));
    if (!more) break;
    BeirDoc d;
    MBERT_RETURN_IF_ERROR(ReadId(lines, obj, &d.id));
    MBERT_RETURN_IF_ERROR(lines.String(obj, "title", false, &d.title));
    MBERT_RETURN_IF_ERROR(lines.String(obj, "text", true, &d.text));
    if (!seen.insert(d.id).second)
      return lines.FieldError("_id", "document id '" + d.id + "' appears twice");
    docs.push_back(std::move(d));
  }
  return docs;
}

Result<std::vector<BeirQuery>> ReadBeirQueries(std::istream& in, const std::string& name) {
  JsonlLines lines(in, name);
  std::vector<BeirQuery> queries;
  std::unordered_set<std::string> seen;
  nlohmann::json obj;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, lines.Next(&obj));
    if (!more) break;
    BeirQuery q;
    MBERT_RETURN_IF_ERROR(ReadId(lines, obj, &q.id));
    MBERT_RETURN_IF_ERROR(lines.String(obj, "text", true, &q.text));
    if (!seen.insert(q.id).second)
      return lines.FieldError("_id", "query id '" + q.id + "' appears twice");
    queries.push_back(std::move(q));
  }
  return queries;
}

Result<Qrels> ReadQrels(std::istream& in, const std::string& name, Qrels* lines) {
  DelimitedReader reader(in, name, Dialect::kTsv);
  Qrels qrels;
  Record r;
  while (true) {
    MBERT_ASSIGN_OR_RETURN(bool more, reader.Next(&r));
    if (!more) break;
    if (r.line == 1 && r.fields == std::vector<std::string>{"query-id", "corpus-id", "score"})
      continue;
    if (r.fields.size() != 3)
      return ParseError(name, r.line, r.columns.back(),
                        "expected 3 tab-separated fields (query-id, corpus-id, score), got " +
                            std::to_string(r.fields.size()));
    for (int i = 0; i < 2; ++i)
      if (r.fields[i].empty())
        return ParseError(name, r.line, r.columns[i], i == 0 ? "empty query id" : "empty doc id");
    int64_t score = 0;
    const std::string& s = r.fields[2];
    const auto res = std::from_chars(s.data(), s.data() + s.size(), score);
    if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size())
      return ParseError(name, r.line, r.columns[2],
                        "score '" + s + "': expected an integer relevance grade");
    if (!qrels[r.fields[0]].emplace(r.fields[1], score).second)
      return ParseError(name, r.line, r.columns[0],
                        "pair (" + r.fields[0] + ", " + r.fields[1] + ") appears twice");
    if (lines != nullptr) (*lines)[r.fields[0]][r.fields[1]] = r.line;
  }
  return qrels;
}

Result<BeirDataset> ReadBeir(const std::string& dir, const std::string& split) {
  auto open = [](const std::string& path, std::ifstream* f) -> Status {
    f->open(path, std::ios::binary);
    if (!f->is_open())
      return Status::Error(path +
                           ": cannot open (a BEIR directory holds corpus.jsonl, "
                           "queries.jsonl and qrels/<split>.tsv)");
    return Status::Ok();
  };
  BeirDataset ds;
  std::ifstream fc, fq, fr;
  const std::string corpus_path = dir + "/corpus.jsonl", queries_path = dir + "/queries.jsonl",
                    qrels_path = dir + "/qrels/" + split + ".tsv";
  MBERT_RETURN_IF_ERROR(open(corpus_path, &fc));
  MBERT_RETURN_IF_ERROR(open(queries_path, &fq));
  MBERT_RETURN_IF_ERROR(open(qrels_path, &fr));
  MBERT_ASSIGN_OR_RETURN(ds.corpus, ReadBeirCorpus(fc, corpus_path));
  MBERT_ASSIGN_OR_RETURN(std::vector<BeirQuery> all, ReadBeirQueries(fq, queries_path));
  Qrels lines;
  MBERT_ASSIGN_OR_RETURN(ds.qrels, ReadQrels(fr, qrels_path, &lines));
  std::unordered_set<std::string> docs;
  for (const BeirDoc& d : ds.corpus) docs.insert(d.id);
  std::set<std::string> found;
  for (BeirQuery& q : all) {
    if (ds.qrels.count(q.id)) {
      found.insert(q.id);
      ds.queries.push_back(std::move(q));
    }
  }
  for (const auto& [qid, rels] : ds.qrels) {
    if (!found.count(qid))
      return Status::Error(qrels_path + ":" + std::to_string(lines[qid].begin()->second) +
                           ": query '" + qid + "' is not in " + queries_path);
    for (const auto& [did, score] : rels)
      if (!docs.count(did))
        return Status::Error(qrels_path + ":" + std::to_string(lines[qid][did]) + ": document '" +
                             did + "' (query '" + qid + "') is not in " + corpus_path);
  }
  return ds;
}

}  // namespace mbert::data
