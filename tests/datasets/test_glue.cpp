// The real GLUE files in shared/data/glue; the expected counts come from awk over the files
// (documented in shared/data/README.md), not from this reader.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "data/glue.h"
#include "test_util.h"

namespace mbert::data {
namespace {

using mbert::testing::ExpectErrorHas;
using mbert::testing::SharedData;

std::map<int64_t, int> Counts(const TextDataset& ds) {
  std::map<int64_t, int> c;
  for (const TextExample& e : ds.examples) ++c[e.label_id];
  return c;
}

Result<TextDataset> Glue(const std::string& task, const std::string& split) {
  return ReadGlue(SharedData() + "/glue", task, split);
}

TEST(Glue, OfficialDevSetsHaveTheirSizesAndLabels) {
  auto sst = Glue("sst2", "test");
  ASSERT_TRUE(sst.ok()) << sst.status().message();
  EXPECT_EQ(sst->examples.size(), 872u);  // the header is not an example
  EXPECT_EQ(Counts(*sst), (std::map<int64_t, int>{{0, 428}, {1, 444}}));
  EXPECT_EQ(sst->examples[0].text, "it 's a charming and often affecting journey . ");
  EXPECT_EQ(sst->examples[0].line, 2);

  auto cola = Glue("CoLA", "dev");  // no header; last line without newline
  ASSERT_TRUE(cola.ok()) << cola.status().message();
  EXPECT_EQ(cola->examples.size(), 1043u);
  EXPECT_EQ(Counts(*cola), (std::map<int64_t, int>{{0, 322}, {1, 721}}));
  EXPECT_EQ(cola->examples.back().text, "John talked to Bill about himself.");

  auto rte = Glue("rte", "dev");
  ASSERT_TRUE(rte.ok()) << rte.status().message();
  EXPECT_EQ(rte->examples.size(), 277u);
  EXPECT_TRUE(rte->has_pair);
  EXPECT_EQ(rte->labels.id2label(), (std::vector<std::string>{"entailment", "not_entailment"}));
  EXPECT_EQ(Counts(*rte), (std::map<int64_t, int>{{0, 146}, {1, 131}}));
  EXPECT_EQ(rte->examples[0].text_pair, "Christopher Reeve had an accident.");

  auto mrpc = Glue("MRPC", "test");  // header with a UTF-8 BOM
  ASSERT_TRUE(mrpc.ok()) << mrpc.status().message();
  EXPECT_EQ(mrpc->examples.size(), 1725u);
  EXPECT_EQ(Counts(*mrpc), (std::map<int64_t, int>{{0, 578}, {1, 1147}}));
  EXPECT_EQ(mrpc->examples[0].text.rfind("PCCW's chief operating officer", 0), 0u);

  auto sts = Glue("sts-b", "test");
  ASSERT_TRUE(sts.ok()) << sts.status().message();
  EXPECT_EQ(sts->kind, LabelKind::kRegression);
  ASSERT_EQ(sts->examples.size(), 1500u);
  double sum = 0;
  for (const TextExample& e : sts->examples) sum += e.value;
  EXPECT_NEAR(sum, 3545.861333333, 1e-6);  // awk: sum of column 10
  EXPECT_EQ(sts->examples[0].text, "A man with a hard hat is dancing.");
  EXPECT_DOUBLE_EQ(sts->examples[0].value, 5.0);
}

TEST(Glue, EverySplitOfEveryTaskReads) {
  const std::map<std::string, std::vector<size_t>> sizes = {{"SST-2", {60614, 6735, 872}},
                                                            {"CoLA", {7250, 1301, 1043}},
                                                            {"RTE", {2127, 363, 277}},
                                                            {"MRPC", {2576, 1500, 1725}},
                                                            {"STS-B", {4249, 1500, 1500}}};
  for (const GlueTask& t : GlueTasks()) {
    for (size_t i = 0; i < t.splits.size(); ++i) {
      auto ds = Glue(t.name, t.splits[i]);
      ASSERT_TRUE(ds.ok()) << ds.status().message();
      EXPECT_EQ(ds->examples.size(), sizes.at(t.name)[i]) << t.name << " " << t.splits[i];
    }
  }
  EXPECT_EQ(FindGlueTask("stsb").value().official_dev, "test");
}

TEST(Glue, ErrorsNameTaskFileLineColumn) {
  ExpectErrorHas(FindGlueTask("qqp").status(), {"unknown GLUE task 'qqp'", "SST-2"});
  ExpectErrorHas(Glue("rte", "test").status(), {"no split 'test'", "official dev set is 'dev'"});
  GlueTask rte = FindGlueTask("rte").value();
  std::istringstream bad_cols("index\tsentence1\tsentence2\tlabel\n0\ta\tb\n");
  ExpectErrorHas(ReadGlueFile(rte, bad_cols, "r.tsv").status(),
                 {"r.tsv:2:5:", "4 tab-separated fields, got 3"});
  std::istringstream bad_label("0\ta\tb\tentailed\n");
  ExpectErrorHas(ReadGlueFile(rte, bad_label, "r.tsv").status(),
                 {"r.tsv:1:7:", "'entailed' is not one of"});
  GlueTask sts = FindGlueTask("sts-b").value();
  std::istringstream bad_score("0\tg\tf\ty\to\ts\ts\ta\tb\t5.5\n");
  ExpectErrorHas(ReadGlueFile(sts, bad_score, "s.tsv").status(), {"s.tsv:1:", "outside [0, 5]"});
  // A header row in the middle of a file is data, and its label is then an error.
  std::istringstream mid("0\ta\tb\tentailment\nindex\tsentence1\tsentence2\tlabel\n");
  ExpectErrorHas(ReadGlueFile(rte, mid, "r.tsv").status(), {"r.tsv:2:", "'label'"});
}

}  // namespace
}  // namespace mbert::data
