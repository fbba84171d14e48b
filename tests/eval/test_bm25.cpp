// BM25 against its formula evaluated by hand on a tiny corpus, and its tokenisation.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/bm25.h"

namespace mbert::eval {
namespace {

TEST(Bm25, Tokens) {
  EXPECT_EQ(Bm25Tokens("Hello, WORLD! x2-y  é-Ü"),
            (std::vector<std::string>{"hello", "world", "x2", "y", "é", "Ü"}));
  EXPECT_TRUE(Bm25Tokens(" ,.; ").empty());
}

TEST(Bm25, LuceneFormula) {
  const std::vector<std::string> docs = {"cat dog", "cat cat mouse bird", "bird", "fish fish"};
  Bm25Index idx(docs);
  const double avgdl = (2 + 4 + 1 + 2) / 4.0, N = 4, k1 = 0.9, b = 0.4;
  EXPECT_DOUBLE_EQ(idx.avgdl(), avgdl);
  auto idf = [&](double df) { return std::log(1 + (N - df + 0.5) / (df + 0.5)); };
  auto part = [&](double tf, double dl) { return tf / (tf + k1 * (1 - b + b * dl / avgdl)); };
  // "cat bird cat": cat twice in the query (counts twice), bird once.
  const auto hits = idx.Search("Cat bird CAT", 10);
  const double s0 = 2 * idf(2) * part(1, 2);
  const double s1 = 2 * idf(2) * part(2, 4) + idf(2) * part(1, 4);
  const double s2 = idf(2) * part(1, 1);
  ASSERT_EQ(hits.size(), 3u);  // the fish document shares no token
  std::vector<std::pair<double, int64_t>> want = {{-s0, 0}, {-s1, 1}, {-s2, 2}};
  std::sort(want.begin(), want.end());
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(hits[r].doc, want[r].second);
    EXPECT_NEAR(hits[r].score, -want[r].first, 1e-12);
  }
  EXPECT_EQ(idx.Search("cat bird", 1).size(), 1u);
  EXPECT_TRUE(idx.Search("zebra", 5).empty());
}

}  // namespace
}  // namespace mbert::eval
