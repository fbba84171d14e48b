#include <gtest/gtest.h>

#include <sstream>

#include "data/beir.h"
#include "test_util.h"

namespace mbert::data {
namespace {

using mbert::testing::ExpectErrorHas;
using mbert::testing::SharedData;

TEST(Beir, SciFactTestSplit) {
  auto ds = ReadBeir(SharedData() + "/beir-scifact", "test");
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  EXPECT_EQ(ds->corpus.size(), 5183u);  // shared/data/README.md
  EXPECT_EQ(ds->queries.size(), 300u);
  size_t pairs = 0;
  for (const auto& [q, rels] : ds->qrels) pairs += rels.size();
  EXPECT_EQ(pairs, 339u);
  EXPECT_EQ(ds->corpus[0].id, "4983");
  EXPECT_EQ(ds->corpus[0].title.rfind("Microstructural development", 0), 0u);
  EXPECT_EQ(ds->qrels.at("1").at("31715818"), 1);
}

TEST(Beir, MalformedInputsNameFileAndLine) {
  std::istringstream dup("{\"_id\":\"a\",\"text\":\"x\"}\n{\"_id\":\"a\",\"text\":\"y\"}\n");
  ExpectErrorHas(ReadBeirCorpus(dup, "c.jsonl").status(), {"c.jsonl:2:", "appears twice"});
  std::istringstream numid("{\"_id\":7,\"text\":\"x\"}\n");
  ExpectErrorHas(ReadBeirCorpus(numid, "c.jsonl").status(),
                 {"c.jsonl:1:", "field '_id'", "expected a string"});
  std::istringstream notext("{\"_id\":\"q\"}\n");
  ExpectErrorHas(ReadBeirQueries(notext, "q.jsonl").status(), {"q.jsonl:1:", "field 'text'"});
  std::istringstream qr("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\thigh\n");
  ExpectErrorHas(ReadQrels(qr, "r.tsv").status(), {"r.tsv:3:7:", "'high'", "integer"});
  std::istringstream qr2("q1\td1\n");
  ExpectErrorHas(ReadQrels(qr2, "r.tsv").status(), {"r.tsv:1:4:", "expected 3"});
  std::istringstream good("q1\td1\t2\nq1\td2\t0\nq2\td1\t1\n");
  auto q = ReadQrels(good, "r.tsv");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("q1").at("d1"), 2);
  EXPECT_EQ(q->at("q1").at("d2"), 0);
  EXPECT_EQ(q->size(), 2u);
  ExpectErrorHas(ReadBeir("/nonexistent-beir", "test").status(), {"corpus.jsonl", "cannot open"});
}

}  // namespace
}  // namespace mbert::data
