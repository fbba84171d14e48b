// `mbert plot` end to end: a PNG of the requested size that decodes, and clear errors (exit 1,
// never a crash) for a missing file, a line that is not JSON, nothing to plot and bad options.
#include <gtest/gtest.h>

#include "../plot/png_reader.h"
#include "cli_run.h"

namespace mbert::testing {
namespace {

std::string Metrics() {
  std::string s = "{\"step\":0,\"eval_loss\":10.0,\"eval_accuracy\":0.0}\n";
  for (int step = 1; step <= 40; ++step)
    s += "{\"step\":" + std::to_string(step) + ",\"loss\":" + std::to_string(10.0 - 0.1 * step) +
         ",\"lr\":0.001,\"tokens_seen\":" + std::to_string(100 * step) + "}\n";
  s += "{\"step\":40,\"eval_loss\":6.5,\"eval_accuracy\":0.2}\n";
  return s;
}

TEST(CliPlot, WritesAPngOfTheRequestedSize) {
  const std::string metrics = WriteTemp("plot_metrics.jsonl", Metrics());
  const std::string png = ::testing::TempDir() + "/plot_out.png";
  for (const char* x : {"step", "tokens"}) {
    const CliResult r = RunMbert({"plot", metrics, "-o", png, "--width", "640", "--height", "400",
                                  "--title", "a run", "--x", x});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote " + png), std::string::npos) << r.out;
    const DecodedPng d = DecodePng(ReadAll(png));
    ASSERT_EQ(d.error, "");
    EXPECT_EQ(d.width, 640);
    EXPECT_EQ(d.height, 400);
  }
}

TEST(CliPlot, ErrorsAreClear) {
  const std::string good = WriteTemp("plot_good.jsonl", Metrics());
  const std::string png = ::testing::TempDir() + "/plot_err.png";
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::string bad_line =
      WriteTemp("plot_bad_line.jsonl", "{\"step\":1,\"loss\":2}\nloss=3\n{\"step\":3}\n");
  const std::string nothing = WriteTemp("plot_nothing.jsonl", "{\"step\":1,\"grad_norm\":2}\n");
  const std::string no_tokens = WriteTemp("plot_no_tokens.jsonl", "{\"step\":1,\"loss\":2}\n");
  const std::vector<Case> cases = {
      {{"plot", ::testing::TempDir() + "/missing.jsonl", "-o", png}, "missing.jsonl"},
      {{"plot", bad_line, "-o", png}, "plot_bad_line.jsonl:2: not JSON"},
      {{"plot", nothing, "-o", png}, "nothing to plot"},
      {{"plot", no_tokens, "-o", png, "--x", "tokens"}, "tokens_seen"},
      {{"plot", good, "-o", png, "--width", "12"}, "--width must be in"},
      {{"plot", good, "-o", png, "--smoothing", "1.5"}, "--smoothing"},
      {{"plot", good, "-o", ::testing::TempDir() + "/no/such/dir/x.png"}, "cannot open"},
      {{"plot", good, "-o", "/dev/full"}, "write failed"},
  };
  for (const Case& c : cases) {
    const CliResult r = RunMbert(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args[1] << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
  const CliResult usage = RunMbert({"plot", good, "--x", "epochs"});
  EXPECT_GT(usage.exit_code, 0) << usage.err;  // a CLI11 usage error, not a crash
  EXPECT_NE(usage.err.find("--x: epochs not in {step,tokens}"), std::string::npos) << usage.err;
}

}  // namespace
}  // namespace mbert::testing
