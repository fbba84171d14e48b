// BM25 retrieval baseline, Lucene's BM25Similarity (the scorer of Pyserini's BEIR baselines):
//   score(q, d) = sum over query tokens t (repeats count again) of
//                 idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl)),
//   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)),  k1 = 0.9, b = 0.4 (Pyserini's defaults).
// Lucene >= 8 dropped the constant (k1 + 1) factor; rankings are the same either way.
// Differences from Pyserini, on purpose and documented: document lengths are exact (Lucene
// stores them in one lossy byte), and the tokenisation is BM25Tokens below, not Lucene's English
// analyzer (no stop words, no Porter stemming), so nDCG is somewhat lower than Pyserini's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "eval/exact_search.h"

namespace mbert::eval {

// Lowercase word split: maximal runs of ASCII letters and digits and of bytes >= 0x80 (so UTF-8
// letters stay inside words); ASCII letters lowercased; everything else separates.
std::vector<std::string> Bm25Tokens(std::string_view text);

struct Bm25Options {
  double k1 = 0.9;
  double b = 0.4;
};

class Bm25Index {
 public:
  // Indexes `docs` (BEIR: title + " " + text); document i keeps index i.
  Bm25Index(const std::vector<std::string>& docs, Bm25Options opts = {});
  // The k best documents for `query`: score descending, ties by index ascending; documents
  // sharing no token with the query are not returned.
  std::vector<Hit> Search(std::string_view query, int k) const;
  int64_t num_docs() const { return static_cast<int64_t>(doc_len_.size()); }
  double avgdl() const { return avgdl_; }

 private:
  struct Posting {
    int32_t doc;
    int32_t tf;
  };
  Bm25Options opts_;
  std::unordered_map<std::string, std::vector<Posting>> postings_;
  std::vector<int32_t> doc_len_;
  double avgdl_ = 0;
};

}  // namespace mbert::eval
