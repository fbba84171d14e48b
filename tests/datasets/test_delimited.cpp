#include <gtest/gtest.h>

#include <sstream>

#include "data/delimited_reader.h"
#include "test_util.h"

namespace mbert::data {
namespace {

using mbert::testing::ExpectErrorHas;

std::vector<Record> ReadAll(const std::string& text, Dialect d, Status* st) {
  std::istringstream in(text);
  DelimitedReader r(in, "t.csv", d);
  std::vector<Record> out;
  Record rec;
  while (true) {
    Result<bool> more = r.Next(&rec);
    if (!more.ok()) {
      *st = more.status();
      return out;
    }
    if (!*more) break;
    out.push_back(rec);
  }
  *st = Status::Ok();
  return out;
}

TEST(Delimited, TsvKeepsQuotesAndStripsBomAndCr) {
  Status st;
  auto rows = ReadAll("\xEF\xBB\xBFq\t\"a\"\r\nb\t\tc", Dialect::kTsv, &st);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"q", "\"a\""}));
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"b", "", "c"}));
  EXPECT_EQ(rows[1].columns, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(rows[1].line, 2);
}

TEST(Delimited, CsvQuotingRfc4180) {
  Status st;
  auto rows =
      ReadAll("a,\"b,c\",\"say \"\"hi\"\"\"\n\"multi\nline\",,\"\"\nx,y,", Dialect::kCsv, &st);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"a", "b,c", "say \"hi\""}));
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"multi\nline", "", ""}));
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"x", "y", ""}));
  EXPECT_EQ(rows[2].line, 4);  // the quoted newline counted as a line
}

TEST(Delimited, CsvErrorsNameLineAndColumn) {
  Status st;
  ReadAll("a,b\nc,\"open\nnever closed", Dialect::kCsv, &st);
  ExpectErrorHas(st, {"t.csv:2:3:", "never closed"});
  ReadAll("a,b\nc,\"x\"y", Dialect::kCsv, &st);
  ExpectErrorHas(st, {"t.csv:2:6:", "after the closing quote"});
  ReadAll("a,b\nc,d\"e", Dialect::kCsv, &st);
  ExpectErrorHas(st, {"t.csv:2:4:", "unquoted field"});
  ReadAll("a,b\n\nc,d", Dialect::kCsv, &st);
  ExpectErrorHas(st, {"t.csv:2:1:", "empty line"});
}

TEST(Delimited, DialectByExtension) {
  EXPECT_EQ(DialectOfPath("x/train.csv").value(), Dialect::kCsv);
  EXPECT_EQ(DialectOfPath("x/train.tsv").value(), Dialect::kTsv);
  EXPECT_FALSE(DialectOfPath("x/train.json").ok());
  EXPECT_FALSE(DelimitedReader::Open("/nonexistent/x.tsv", Dialect::kTsv).ok());
}

}  // namespace
}  // namespace mbert::data
