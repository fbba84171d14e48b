#include "eval/bm25.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace mbert::eval {

std::vector<std::string> Bm25Tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (const char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    const bool word =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
    if (word) {
      cur += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

Bm25Index::Bm25Index(const std::vector<std::string>& docs, Bm25Options opts) : opts_(opts) {
  double total = 0;
  for (size_t d = 0; d < docs.size(); ++d) {
    const std::vector<std::string> toks = Bm25Tokens(docs[d]);
    std::map<std::string, int32_t> tf;
    for (const std::string& t : toks) ++tf[t];
    for (auto& [t, n] : tf) postings_[t].push_back({static_cast<int32_t>(d), n});
    doc_len_.push_back(static_cast<int32_t>(toks.size()));
    total += static_cast<double>(toks.size());
  }
  avgdl_ = docs.empty() ? 0.0 : total / static_cast<double>(docs.size());
}

std::vector<Hit> Bm25Index::Search(std::string_view query, int k) const {
  const double n = static_cast<double>(doc_len_.size());
  std::vector<double> score(doc_len_.size(), 0.0);
  std::vector<char> touched(doc_len_.size(), 0);
  for (const std::string& t : Bm25Tokens(query)) {
    const auto it = postings_.find(t);
    if (it == postings_.end()) continue;
    const double df = static_cast<double>(it->second.size());
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (const Posting& p : it->second) {
      const double tf = p.tf;
      const double norm = opts_.k1 * (1.0 - opts_.b + opts_.b * doc_len_[p.doc] / avgdl_);
      score[p.doc] += idf * tf / (tf + norm);
      touched[p.doc] = 1;
    }
  }
  std::vector<Hit> hits;
  for (size_t d = 0; d < score.size(); ++d)
    if (touched[d]) hits.push_back({static_cast<int64_t>(d), score[d]});
  const auto better = [&](const Hit& a, const Hit& b) {
    const double sa = score[a.doc], sb = score[b.doc];
    return sa != sb ? sa > sb : a.doc < b.doc;
  };
  const size_t keep = std::min(hits.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(hits.begin(), hits.begin() + keep, hits.end(), better);
  hits.resize(keep);
  return hits;
}

}  // namespace mbert::eval
