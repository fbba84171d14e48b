#include <gtest/gtest.h>

#include <sstream>

#include "data/conll.h"
#include "test_util.h"

namespace mbert::data {
namespace {

using mbert::testing::ExpectErrorHas;

TEST(Conll, SentencesTagsAndDocstart) {
  std::istringstream in(
      "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n"
      "Peter\tB-PER\nBlackburn  I-PER\n");
  auto ds = ReadConll(in, "c.txt", {});
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  ASSERT_EQ(ds->sentences.size(), 2u);
  EXPECT_EQ(ds->sentences[0].tokens, (std::vector<std::string>{"EU", "rejects"}));
  EXPECT_EQ(ds->sentences[0].tags, (std::vector<std::string>{"B-ORG", "O"}));
  EXPECT_EQ(ds->sentences[0].line, 3);
  EXPECT_EQ(ds->sentences[1].tags, (std::vector<std::string>{"B-PER", "I-PER"}));
  EXPECT_EQ(ds->sentences[1].line, 7);
  EXPECT_EQ(ds->labels.id2label(), (std::vector<std::string>{"B-ORG", "B-PER", "I-PER", "O"}));
  EXPECT_EQ(ds->sentences[1].tag_ids, (std::vector<int64_t>{1, 2}));
}

TEST(Conll, TagColumnAndErrors) {
  std::istringstream pos("EU NNP B-ORG\n");
  ConllOptions o;
  o.tag_column = 1;
  auto ds = ReadConll(pos, "c.txt", o);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(ds->sentences[0].tags[0], "NNP");
  std::istringstream lone("EU B-ORG\nrejects\n");
  ExpectErrorHas(ReadConll(lone, "c.txt", {}).status(), {"c.txt:2:1:", "token and its tag"});
  std::istringstream few("EU NNP\n");
  o.tag_column = 3;
  ExpectErrorHas(ReadConll(few, "c.txt", o).status(), {"c.txt:1:4:", "column 4"});
  std::istringstream unknown("a O\n\nb B-X\n");
  ConllOptions fixed;
  fixed.labels = {"O", "B-PER"};
  ExpectErrorHas(ReadConll(unknown, "c.txt", fixed).status(), {"c.txt:3:", "'B-X'"});
}

}  // namespace
}  // namespace mbert::data
