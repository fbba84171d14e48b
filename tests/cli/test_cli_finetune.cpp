// `mbert finetune` end to end on the tiny masked-LM test model: a GLUE-layout file trains and its
// best/ is usable by `mbert classify`; bad flags and bad data fail with errors naming the fix.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_run.h"

namespace mbert::testing {
namespace {

namespace fs = std::filesystem;

std::string Dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/cli_finetune_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void Write(const std::string& path, const std::string& s) { std::ofstream(path) << s; }

std::string Sst2(int n) {
  std::string s = "sentence\tlabel\n";
  for (int i = 0; i < n; ++i)
    s += i % 2 ? "a wonderful , lovely film\t1\n" : "a dull , boring film\t0\n";
  return s;
}

std::vector<std::string> Base(const std::string& d) {
  return {"finetune",     "-q",
          "--model",      TestDataDir() + "/tiny-mlm",
          "--train",      d + "/train.tsv",
          "--dev",        d + "/dev.tsv",
          "--out",        d + "/out",
          "--batch-size", "4",
          "--lr",         "1e-3"};
}

TEST(CliFinetune, Sst2TrainsAndBestClassifies) {
  const std::string d = Dir("sst2");
  Write(d + "/train.tsv", Sst2(8));
  Write(d + "/dev.tsv", Sst2(4));
  std::vector<std::string> args = Base(d);
  args.insert(args.end(), {"--task", "glue:sst2", "--epochs", "2"});
  const CliResult r = RunMbert(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["steps"], 4);
  EXPECT_EQ(j["metric"], "accuracy");
  const std::string best = j["best_model"];
  const auto cfg = nlohmann::json::parse(ReadAll(best + "/config.json"));
  EXPECT_EQ(cfg["id2label"]["1"], "1");  // SST-2's labels in glue.h order
  const CliResult c = RunMbert({"classify", "-m", best, "a lovely film"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("\"label\""), std::string::npos);
}

TEST(CliFinetune, BadFlagsAndDataAreClearErrors) {
  const std::string d = Dir("errors");
  Write(d + "/train.tsv", Sst2(8));
  Write(d + "/dev.tsv", Sst2(4));
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = Base(d);
    args.insert(args.end(), extra.begin(), extra.end());
    return RunMbert(args);
  };
  CliResult r = run({"--task", "glue:nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  r = run({"--task", "ner"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("expected glue:"), std::string::npos) << r.err;
  r = run({"--task", "seqcls", "--epochs", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--epochs"), std::string::npos) << r.err;
  r = run({"--task", "seqcls", "--max-length", "3"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("train.tsv:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--truncate"), std::string::npos) << r.err;
  // A dev label the training file does not have.
  Write(d + "/dev.tsv", "sentence\tlabel\nfine\t0\nodd\t7\n");
  r = run({"--task", "seqcls"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("dev.tsv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'7'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mbert::testing
