// BEIR retrieval data: `corpus.jsonl` ({"_id", "title", "text"}, title optional),
// `queries.jsonl` ({"_id", "text"}) and `qrels/<split>.tsv` (query-id, corpus-id, integer score;
// a header row "query-id corpus-id score" is recognised). Ids are strings and must be unique;
// a qrel naming a query or document absent from the files is an error, so that a metric never
// silently averages over fewer queries than the qrels hold.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert::data {

struct BeirDoc {
  std::string id, title, text;
};
struct BeirQuery {
  std::string id, text;
};
// query id -> (doc id -> graded relevance), ordered maps so iteration is deterministic.
using Qrels = std::map<std::string, std::map<std::string, int64_t>>;

struct BeirDataset {
  std::vector<BeirDoc> corpus;
  std::vector<BeirQuery> queries;  // only the queries that have qrels in the split, file order
  Qrels qrels;
};

Result<std::vector<BeirDoc>> ReadBeirCorpus(std::istream& in, const std::string& name);
Result<std::vector<BeirQuery>> ReadBeirQueries(std::istream& in, const std::string& name);
// `lines`, when given, receives the line of every pair (same keys as the result).
Result<Qrels> ReadQrels(std::istream& in, const std::string& name, Qrels* lines = nullptr);

// `dir`/corpus.jsonl, `dir`/queries.jsonl and `dir`/qrels/`split`.tsv, cross-checked (an unknown
// id is an error naming the qrels file and line).
Result<BeirDataset> ReadBeir(const std::string& dir, const std::string& split);

}  // namespace mbert::data
