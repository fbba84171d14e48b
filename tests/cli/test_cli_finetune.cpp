// `mbert finetune` end to end on the tiny masked-LM test model: a GLUE-layout file trains and its
// best/ is usable by `mbert classify`; GLUE tasks select by the paper's metric unless --metric
// says otherwise; --sweep runs a small grid and publishes the best run; bad flags and bad data fail
// with errors naming the fix.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

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

// CoLA's layout: source, label, mark ("*" when unacceptable), sentence; no header.
std::string Cola(int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += i % 2 ? "gj04\t1\t\tthe cat sat on the mat .\n" : "gj04\t0\t*\tthe cat the on sat .\n";
  return s;
}

// MRPC's layout: quality, id1, id2, string1, string2; no header.
std::string Mrpc(int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += i % 2 ? "1\t1\t2\tthe film was lovely .\ta lovely film .\n"
               : "0\t3\t4\tthe film was lovely .\tit rained all day .\n";
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

// Without --metric a GLUE task selects best/ by the metric the ModernBERT paper reports for it.
TEST(CliFinetune, GlueTasksDefaultToThePaperMetric) {
  const std::string d = Dir("paper_metric");
  auto run = [&](const std::string& task, const std::string& data, std::vector<std::string> extra) {
    Write(d + "/train.tsv", data);
    Write(d + "/dev.tsv", data);
    std::vector<std::string> args = Base(d);
    args.insert(args.end(), {"--task", task, "--epochs", "1"});
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult r = RunMbert(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  };
  auto j = run("glue:cola", Cola(8), {});
  EXPECT_EQ(j["metric"], "matthews");
  EXPECT_EQ(j["best_metric"], j["best_eval"]["matthews"]);
  j = run("glue:mrpc", Mrpc(8), {});
  EXPECT_EQ(j["metric"], "f1");
  EXPECT_EQ(j["best_metric"], j["best_eval"]["f1"]);
  j = run("glue:cola", Cola(8), {"--metric", "accuracy"});
  EXPECT_EQ(j["metric"], "accuracy");
}

std::vector<nlohmann::json> JsonLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(ReadAll(path));
  for (std::string l; std::getline(in, l);) out.push_back(nlohmann::json::parse(l));
  return out;
}

// A 2 x 1 x 1 grid: two runs under out/sweep/, their lines in sweep.jsonl and
// sweep_results.json, and out/best holding the better run's best model.
TEST(CliFinetune, SweepRunsTheGridAndPublishesTheBestRun) {
  const std::string d = Dir("sweep");
  Write(d + "/train.tsv", Sst2(8));
  Write(d + "/dev.tsv", Sst2(4));
  std::vector<std::string> args = Base(d);
  args.erase(args.end() - 2, args.end());  // --lr comes from the grid
  args.insert(args.end(), {"--task", "glue:sst2", "--sweep", "--sweep-lr", "1e-3,1e-5",
                           "--sweep-wd", "0", "--sweep-epochs", "1"});
  const CliResult r = RunMbert(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["runs"], 2);
  EXPECT_EQ(j["metric"], "accuracy");
  const std::string out = d + "/out";
  const std::vector<nlohmann::json> lines = JsonLines(out + "/sweep.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["run"], "0.001_0_1");
  EXPECT_EQ(lines[1]["run"], "1e-5_0_1");
  EXPECT_EQ(lines[0]["lr"], 1e-3);
  EXPECT_EQ(lines[1]["weight_decay"], 0.0);
  for (const auto& l : lines) {
    EXPECT_EQ(l["steps"], 2);
    EXPECT_TRUE(fs::exists(out + "/" + l["dir"].get<std::string>() + "/best/model.safetensors"));
    EXPECT_TRUE(fs::exists(out + "/" + l["dir"].get<std::string>() + "/metrics.jsonl"));
  }
  const size_t best = lines[1]["best_metric"] > lines[0]["best_metric"] ? 1 : 0;
  EXPECT_EQ(j["best"], lines[best]);
  const auto results = nlohmann::json::parse(ReadAll(out + "/sweep_results.json"));
  EXPECT_EQ(results["best"], lines[best]);
  EXPECT_EQ(results["runs"].size(), 2u);
  EXPECT_EQ(results["grid"]["epochs"], nlohmann::json::array({1}));
  const std::string best_dir = out + "/" + lines[best]["dir"].get<std::string>() + "/best";
  EXPECT_EQ(ReadAll(out + "/best/model.safetensors"), ReadAll(best_dir + "/model.safetensors"));
  EXPECT_EQ(ReadAll(out + "/best/config.json"), ReadAll(best_dir + "/config.json"));
  const CliResult c = RunMbert({"classify", "-m", out + "/best", "a lovely film"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  // Resumed, the finished runs return their recorded results.
  const std::string summary = ReadAll(out + "/sweep.jsonl");
  args.push_back("--resume");
  args.erase(args.begin() + 1);  // no -q: the progress lines say which runs were resumed
  const CliResult again = RunMbert(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("(resumed)"), std::string::npos) << again.err;
  EXPECT_EQ(ReadAll(out + "/sweep.jsonl"), summary);
}

TEST(CliFinetune, SweepFlagErrors) {
  const std::string d = Dir("sweep_errors");
  Write(d + "/train.tsv", Sst2(8));
  Write(d + "/dev.tsv", Sst2(4));
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = Base(d);
    args.insert(args.end(), extra.begin(), extra.end());
    return RunMbert(args);
  };
  // --lr is the grid's with --sweep.
  CliResult r = run({"--task", "glue:sst2", "--sweep"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--lr"), std::string::npos) << r.err;
  r = run({"--task", "glue:sst2", "--sweep-lr", "1e-5"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--sweep"), std::string::npos) << r.err;
  std::vector<std::string> args = Base(d);
  args.erase(args.end() - 2, args.end());
  args.insert(args.end(), {"--task", "seqcls", "--sweep", "--sweep-lr", "1e-3"});
  r = RunMbert(args);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--sweep-weight-decay"), std::string::npos) << r.err;
  args.insert(args.end(), {"--sweep-wd", "0", "--sweep-epochs", "0"});
  r = RunMbert(args);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("epochs must be at least 1"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d + "/out/sweep.jsonl"));
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
