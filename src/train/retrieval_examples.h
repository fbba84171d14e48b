// Tokenized retrieval data for `mbert finetune --task dpr|colbert` (retrieval_run.h): training
// examples (query, positive document, optional hard negative) and a dev split (queries, corpus,
// qrels) for nDCG@10 by exact search.
//
// Sources:
//   BEIR directory: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (src/data/beir.h). Every qrel
//     with a grade >= 1 is one (query, positive) example, in qrels order (query id, doc id).
//   Hard negatives (BEIR only): a TSV of `query-id  positive-id  negative-id` (a header row
//     "query-id positive-id negative-id" is skipped); the examples are then these triples, each
//     positive a graded-relevant qrel of its query.
//   Pairs/triples JSONL: one {"query": ..., "positive": ..., "negative": ...} object per line
//     ("negative" optional, but present on every line or on none).
// Documents are BEIR "title text" (the title and a space when there is one), as `mbert eval`.
//
// Token ids are what the model sees:
//   DPR      the tokenizer's [CLS] text [SEP], truncated to max_length (sentence-transformers'
//            max_seq_length truncation).
//   ColBERT  PyLate's layout (model/colbert.h ColbertTextIds):
//            queries padded with [MASK] to query_length, documents truncated to max_length.
// Errors name the file and line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/beir.h"
#include "mbert/status.h"
#include "mbert/tokenizer.h"

namespace mbert {

enum class RetrievalTask { kDpr, kColbert };

struct RetrievalFormat {
  RetrievalTask task = RetrievalTask::kDpr;
  int64_t max_length = 512;   // DPR: every text; ColBERT: documents
  int64_t query_length = 32;  // ColBERT queries (PyLate's default)
  // ColBERT special ids: [CLS], [SEP], [MASK] and the "[Q] " / "[D] " prefix tokens.
  int32_t cls = -1, sep = -1, mask = -1, query_prefix = -1, document_prefix = -1;
};

struct RetrievalExample {
  int64_t query = 0, positive = 0, negative = -1;  // indices into queries / documents
};

struct RetrievalTrainData {
  std::string source;
  std::vector<std::vector<int32_t>> queries, documents;
  std::vector<RetrievalExample> examples;
  bool hard_negatives = false;  // every example has a negative
};

struct RetrievalDevData {
  std::string source;
  std::vector<std::string> query_ids, doc_ids;
  std::vector<std::vector<int32_t>> queries, documents;
  data::Qrels qrels;
};

// The text of a BEIR document as retrieval sees it.
std::string BeirDocumentText(const data::BeirDoc& d);

// Token ids of one text as a query or a document under `f`.
Result<std::vector<int32_t>> RetrievalIds(const Tokenizer& tok, const RetrievalFormat& f,
                                          const std::string& text, bool query);

Result<RetrievalTrainData> RetrievalTrainFromBeir(const data::BeirDataset& ds,
                                                  const std::string& source, const Tokenizer& tok,
                                                  const RetrievalFormat& f,
                                                  const std::string& hard_negatives_tsv = "");
Result<RetrievalTrainData> RetrievalTrainFromJsonl(const std::string& path, const Tokenizer& tok,
                                                   const RetrievalFormat& f);
Result<RetrievalDevData> RetrievalDevFromBeir(const data::BeirDataset& ds,
                                              const std::string& source, const Tokenizer& tok,
                                              const RetrievalFormat& f);

}  // namespace mbert
