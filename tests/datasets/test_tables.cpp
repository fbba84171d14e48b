#include <gtest/gtest.h>

#include <sstream>

#include "data/jsonl_reader.h"
#include "data/table_reader.h"
#include "test_util.h"

namespace mbert::data {
namespace {

using mbert::testing::ExpectErrorHas;

Result<TextDataset> Table(const std::string& text, Dialect d, const TableOptions& o = {}) {
  std::istringstream in(text);
  return ReadTable(in, "u.tsv", d, o);
}

TEST(Table, DefaultColumnsAndNumericLabelOrder) {
  auto ds = Table("id\tsentence\tlabel\n1\thi\t10\n2\tyo\t2\n3\tno\t2\n", Dialect::kTsv);
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  EXPECT_FALSE(ds->has_pair);
  ASSERT_EQ(ds->examples.size(), 3u);
  // Integers order numerically: "2" before "10" (bytewise would put "10" first).
  EXPECT_EQ(ds->labels.id2label(), (std::vector<std::string>{"2", "10"}));
  EXPECT_EQ(ds->examples[0].label_id, 1);
  EXPECT_EQ(ds->examples[1].label_id, 0);
  EXPECT_EQ(ds->examples[1].text, "yo");
  EXPECT_EQ(ds->examples[1].line, 3);
  const auto j = ds->labels.ToConfigJson();
  EXPECT_EQ(j["id2label"]["1"], "10");
  EXPECT_EQ(j["label2id"]["2"], 0);
}

TEST(Table, CallerColumnsCsvPairsAndFixedLabels) {
  TableOptions o;
  o.text_column = "q";
  o.text_pair_column = "d";
  o.label_column = "y";
  o.labels = {"pos", "neg"};
  auto ds = Table("y,q,d\nneg,\"a, b\",c\npos,e,f\n", Dialect::kCsv, o);
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  EXPECT_TRUE(ds->has_pair);
  EXPECT_EQ(ds->examples[0].text, "a, b");
  EXPECT_EQ(ds->examples[0].text_pair, "c");
  EXPECT_EQ(ds->examples[0].label_id, 1);  // the caller's order, not the sorted one
  EXPECT_EQ(ds->examples[1].label_id, 0);
}

TEST(Table, ByteOrderForWordLabelsAndRegression) {
  auto ds = Table("text\tlabel\na\tnot_entailment\nb\tentailment\n", Dialect::kTsv);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(ds->labels.id2label(), (std::vector<std::string>{"entailment", "not_entailment"}));
  TableOptions o;
  o.kind = LabelKind::kRegression;
  auto reg = Table("text\tlabel\na\t3.25\nb\t-1e-3\n", Dialect::kTsv, o);
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  EXPECT_DOUBLE_EQ(reg->examples[0].value, 3.25);
  EXPECT_DOUBLE_EQ(reg->examples[1].value, -1e-3);
  EXPECT_EQ(reg->labels.size(), 0);
}

TEST(Table, MalformedRowsNameFileLineColumn) {
  ExpectErrorHas(Table("text\tlabel\na\t1\nb\t1\textra\n", Dialect::kTsv).status(),
                 {"u.tsv:3:5:", "expected 2 fields", "got 3"});
  ExpectErrorHas(Table("text\tlabel\nonlytext\n", Dialect::kTsv).status(), {"u.tsv:2:1:", "got 1"});
  ExpectErrorHas(Table("txt\tlabel\na\t1\n", Dialect::kTsv).status(),
                 {"u.tsv:1:1:", "no text column", "'txt'"});
  ExpectErrorHas(Table("", Dialect::kTsv).status(), {"u.tsv:1:1:", "header"});
  TableOptions o;
  o.kind = LabelKind::kRegression;
  ExpectErrorHas(Table("text\tlabel\na\t1.5\nb\tx2\n", Dialect::kTsv, o).status(),
                 {"u.tsv:3:3:", "'x2'", "finite number"});
  ExpectErrorHas(Table("text\tlabel\na\tnan\n", Dialect::kTsv, o).status(), {"u.tsv:2:3:"});
  TableOptions f;
  f.labels = {"0", "1"};
  ExpectErrorHas(Table("text\tlabel\na\t1\nb\t2\n", Dialect::kTsv, f).status(),
                 {"u.tsv:3:3:", "'2' is not one of"});
  ExpectErrorHas(Table("text\tlabel\na\t\n", Dialect::kTsv).status(), {"u.tsv:2:3:", "empty"});
}

Result<TextDataset> Jsonl(const std::string& text, const TableOptions& o = {}) {
  std::istringstream in(text);
  return ReadJsonl(in, "u.jsonl", o);
}

TEST(Jsonl, FieldsLabelsAndErrors) {
  auto ds = Jsonl("{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\",\"label\":0}\n");
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  EXPECT_EQ(ds->examples[0].label_id, 1);
  auto pair = Jsonl("{\"sentence1\":\"a\",\"sentence2\":\"b\",\"label\":\"x\"}\n");
  ASSERT_TRUE(pair.ok());
  EXPECT_TRUE(pair->has_pair);
  EXPECT_EQ(pair->examples[0].text_pair, "b");
  ExpectErrorHas(Jsonl("{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\"}\n").status(),
                 {"u.jsonl:2:", "field 'label'", "missing"});
  ExpectErrorHas(Jsonl("{\"text\":\"a\",\"label\":1}\n{\"text\":5,\"label\":1}\n").status(),
                 {"u.jsonl:2:", "field 'text'", "expected a string"});
  ExpectErrorHas(Jsonl("{\"text\":\"a\",\"label\":1.5}\n").status(),
                 {"u.jsonl:1:", "string or an integer"});
  ExpectErrorHas(Jsonl("{\"text\":\"a\",\"label\":1}\n{\"text\": oops}\n").status(),
                 {"u.jsonl:2:", "invalid JSON"});
  ExpectErrorHas(Jsonl("[1]\n").status(), {"u.jsonl:1:1:", "JSON object"});
  ExpectErrorHas(
      Jsonl("{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\",\"text_pair\":\"c\",\"label\":1}\n")
          .status(),
      {"u.jsonl:2:", "field 'text_pair'", "not on line 1"});
  ExpectErrorHas(Jsonl("{\"text\":\"a\",\"label\":1}\n\n").status(), {"u.jsonl:2:1:", "empty"});
  TableOptions o;
  o.kind = LabelKind::kRegression;
  auto reg = Jsonl("{\"text\":\"a\",\"label\":0.125}\n", o);
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  EXPECT_DOUBLE_EQ(reg->examples[0].value, 0.125);
}

}  // namespace
}  // namespace mbert::data
