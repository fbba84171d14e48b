// The CLI's answers to the probes of issue #14 (part B): an input over the length limit is an
// error naming it, its length and the limit, or with --truncate a marked line ([SEP] kept, also
// for --format ids); a failed write (/dev/full) is an error; a model that computes NaN/Inf never
// prints `null`. Every case: exit code 1, no signal, a message on stderr.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../api/broken_model.h"
#include "cli_run.h"

namespace mbert {
namespace {

using testing::CliResult;
using testing::RunMbert;

const std::string kLong = "one two three four five six seven eight nine ten";  // 12 tokens

std::string Data(const std::string& name) { return testing::TestDataDir() + "/" + name; }

std::vector<nlohmann::json> Lines(const std::string& s) {
  std::vector<nlohmann::json> v;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

// A clean failure: exit code 1 (no crash), `message` on stderr.
void ExpectError(const CliResult& r, const std::string& message, const std::string& what) {
  EXPECT_EQ(r.signal, 0) << what << ": killed by signal " << r.signal << "\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << what << "\n" << r.err;
  EXPECT_NE(r.err.find("error: "), std::string::npos) << what << ": " << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << what << ": " << r.err;
}

TEST(CliInputLength, LongerThanTheLimitIsAnError) {
  ExpectError(RunMbert({"embed", "--max-length", "8", kLong}),
              "input 1 has 12 tokens, more than the limit of 8", "embed");
  ExpectError(RunMbert({"fill-mask", "--max-length", "8", "[MASK] " + kLong}),
              "input 1 has 13 tokens, more than the limit of 8", "fill-mask");
  ExpectError(RunMbert({"tokenize", "--model", Data("tiny-mlm"), "--max-length", "8", kLong}),
              "input 1 (line 1) has 12 tokens, more than the limit of 8", "tokenize");
  const std::string ids = testing::WriteTemp("cli_ids.txt", "1 10 11 12 13 14 2\n");
  ExpectError(RunMbert({"classify", "--model", Data("tiny-tokcls"), "--format", "ids",
                        "--max-length", "5", "--input", ids}),
              "input 1 has 7 tokens, more than the limit of 5", "classify ids");
  // The model's own maximum (8,192) without --max-length: the probe.
  std::string huge;
  for (int i = 0; i < 9000; ++i) huge += " a";
  ExpectError(RunMbert({"embed", huge}), "more than the limit of 8192", "embed, model maximum");
}

TEST(CliInputLength, ErrorsNameTheInputOfTheWholeStream) {
  // Past the first chunk of inputs (InputReader::kChunkInputs = 4096).
  std::string in;
  for (int i = 0; i < 5000; ++i) in += "short line\n";
  in += kLong + "\n";
  const std::string path = testing::WriteTemp("cli_stream.txt", in);
  ExpectError(RunMbert({"embed", "--max-length", "8"}, path),
              "input 5001 has 12 tokens, more than the limit of 8", "embed stdin");
  ExpectError(RunMbert({"tokenize", "--model", Data("tiny-mlm"), "--max-length", "8"}, path),
              "input 5001 (line 5001) has 12 tokens", "tokenize stdin");
}

TEST(CliInputLength, TruncateMarksTheLinesItCut) {
  CliResult r = RunMbert({"embed", "--max-length", "8", "--truncate", "short", kLong});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["index"], 0);
  EXPECT_FALSE(lines[0].contains("truncated"));
  EXPECT_EQ(lines[1]["index"], 1);
  EXPECT_EQ(lines[1]["truncated"], true);
  EXPECT_EQ(lines[1]["original_length"], 12);

  r = RunMbert({"tokenize", "--model", Data("tiny-mlm"), "--max-length", "8", "--truncate", kLong});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  const auto tok_ids = lines[0]["ids"].get<std::vector<int32_t>>();
  ASSERT_EQ(tok_ids.size(), 8u);
  EXPECT_EQ(tok_ids.front(), 50281);
  EXPECT_EQ(tok_ids.back(), 50282);
  EXPECT_EQ(lines[0]["original_length"], 12);

  r = RunMbert({"fill-mask", "--max-length", "8", "--truncate", "[MASK] " + kLong});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["truncated"], true);
  EXPECT_EQ(lines[0]["original_length"], 13);

  // Token ids keep their [SEP] (tiny-tokcls: [CLS] = 1, [SEP] = 2), as text and JSONL input.
  const std::string ids = testing::WriteTemp("cli_ids_cut.txt", "1 10 11 12 13 14 2\n");
  const std::string jsonl =
      testing::WriteTemp("cli_ids_cut.jsonl", "{\"input_ids\": [1, 10, 11, 12, 13, 14, 2]}\n");
  for (const auto& [format, path] : {std::pair{"ids", ids}, std::pair{"jsonl", jsonl}}) {
    r = RunMbert({"classify", "--model", Data("tiny-tokcls"), "--format", format, "--max-length",
                  "5", "--truncate", "--input", path});
    ASSERT_EQ(r.exit_code, 0) << format << ": " << r.err;
    lines = Lines(r.out);
    ASSERT_EQ(lines.size(), 1u);
    std::vector<int32_t> got;
    for (const auto& t : lines[0]["tokens"]) got.push_back(t["id"].get<int32_t>());
    EXPECT_EQ(got, (std::vector<int32_t>{1, 10, 11, 12, 2})) << format;
    EXPECT_EQ(lines[0]["truncated"], true);
    EXPECT_EQ(lines[0]["original_length"], 7);
  }
}

TEST(CliOutput, AFailedWriteIsAnError) {
  const std::string ids = testing::WriteTemp("cli_ids_full.txt", "1 10 11 2\n");
  const std::vector<std::vector<std::string>> commands = {
      {"embed", "hi"},
      {"fill-mask", "hi [MASK]"},
      {"tokenize", "--model", Data("tiny-mlm"), "hi"},
      {"classify", "--model", Data("tiny-tokcls"), "--format", "ids", "--input", ids},
  };
  for (const auto& args : commands)
    ExpectError(RunMbert(args, "", "/dev/full"), "writing the output (stdout) failed", args[0]);
}

// NaN weights, weights so large that the forward overflows, an absurd rope_theta (1e-50: 0 in
// fp32, so Inf RoPE frequencies and NaN angles): an error
// naming the input, never `null` in the output (a loader that refuses the checkpoint is fine).
TEST(CliNumerics, NonFiniteOutputsAreErrors) {
  const std::string tmp = ::testing::TempDir() + "/cli_broken";
  const float nan = std::numeric_limits<float>::quiet_NaN();
  testing::WriteBrokenModel(Data("tiny-mlm"), tmp + "/nan", "model.final_norm.weight", nan);
  testing::WriteBrokenModel(Data("tiny-mlm"), tmp + "/huge", "model.final_norm.weight", 3e38f);
  testing::WriteBrokenModel(Data("tiny-mlm"), tmp + "/theta", "", 0.0f,
                            {{"global_rope_theta", 1e-50}, {"local_rope_theta", 1e-50}});
  testing::WriteBrokenModel(Data("tiny-tokcls"), tmp + "/nan-tok", "model.final_norm.weight", nan);
  const std::string ids = testing::WriteTemp("cli_ids_nan.txt", "1 10 11 2\n");
  const std::vector<std::vector<std::string>> commands = {
      {"embed", "--model", tmp + "/nan", "hi", "there"},
      {"embed", "--model", tmp + "/huge", "hi"},
      {"embed", "--model", tmp + "/theta", "hi"},
      {"fill-mask", "--model", tmp + "/nan", "hi [MASK]"},
      {"fill-mask", "--model", tmp + "/huge", "hi [MASK]"},
      {"classify", "--model", tmp + "/nan-tok", "--format", "ids", "--input", ids},
  };
  for (const auto& args : commands) {
    const std::string what = args[0] + " " + args[2];
    const CliResult r = RunMbert(args);
    EXPECT_EQ(r.signal, 0) << what;
    EXPECT_EQ(r.exit_code, 1) << what << "\n" << r.out;
    EXPECT_EQ(r.out.find("null"), std::string::npos) << what << ": " << r.out;
    const bool guard = r.err.find("error: input 1: non-finite") != std::string::npos;
    const bool refused_at_load =
        r.err.find("NaN") != std::string::npos || r.err.find("rope_theta") != std::string::npos;
    EXPECT_TRUE(guard || refused_at_load) << what << ": " << r.err;
  }
}

}  // namespace
}  // namespace mbert
