// Files that are not what they claim: FIFOs, devices, directories, oversized files, numbers
// beyond double and integers beyond their field's type. Each is a Status naming the file and the
// field, never a hang, a crash or a silently truncated value.
#include <sys/stat.h>

#include <chrono>

#include "core/file_io.h"
#include "core/json_fields.h"
#include "core/safetensors.h"
#include "core/thread_limit.h"
#include "hardening_util.h"
#include "model/config.h"

namespace mbert::hardening {
namespace {

using nlohmann::json;

TEST(FileInputs, FifoIsRefusedWithoutBlocking) {
  const std::string dir = ScratchDir("fifo");
  const std::string fifo = dir + "/config.json";
  ASSERT_EQ(0, mkfifo(fifo.c_str(), 0600));
  const auto t0 = std::chrono::steady_clock::now();
  // Before: open() waited forever for a writer (the probe hung).
  EXPECT_TRUE(FailsWith(ModelConfig::FromFile(fifo), {fifo, "not a regular file"}));
  EXPECT_TRUE(FailsWith(ReadFile(fifo), {"not a regular file"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(FileInputs, FifoWeightShardIsRefusedWithoutBlocking) {
  // A shard named by model.safetensors.index.json is opened without a FileExists check first.
  const std::string dir = ScratchDir("fifo_shard");
  const std::string fifo = dir + "/model-00001.safetensors";
  ASSERT_EQ(0, mkfifo(fifo.c_str(), 0600));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(FailsWith(SafetensorsFile::Open(fifo), {fifo, "not a regular file"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(FileInputs, DevZeroAndDirectoriesAreRefused) {
  // Before: /dev/zero was read until memory ran out.
  EXPECT_TRUE(FailsWith(ReadJsonFile("/dev/zero"), {"/dev/zero", "not a regular file"}));
  const std::string dir = ScratchDir("dir");
  EXPECT_TRUE(FailsWith(ReadJsonFile(dir), {dir, "is a directory"}));
}

TEST(FileInputs, OversizedFileIsRefusedBeforeReading) {
  const std::string dir = ScratchDir("big");
  WriteText(dir + "/big.json", std::string(5000, ' ') + "{}");
  EXPECT_TRUE(FailsWith(ReadJsonFile(dir + "/big.json", 4096), {"5002 bytes", "4096"}));
  EXPECT_TRUE(ReadJsonFile(dir + "/big.json", 8192).ok());
}

TEST(FileInputs, NumberBeyondDoubleIsAnError) {
  // Before: nlohmann threw out_of_range (not parse_error) and the process aborted.
  const std::string dir = ScratchDir("1e400");
  WriteText(dir + "/config.json", R"({"vocab_size": 100, "norm_eps": 1e400})");
  EXPECT_TRUE(FailsWith(ModelConfig::FromFile(dir + "/config.json"),
                        {dir + "/config.json", "invalid JSON", "1e400"}));
}

TEST(JsonFields, IntegersAreRangeCheckedBeforeTheCast) {
  const json j = {{"a", 4294967300LL},
                  {"b", -1},
                  {"c", 2.5},
                  {"d", "7"},
                  {"e", 18446744073709551615ULL},
                  {"f", 7}};
  auto f = JsonFields::Of(j, "x.json");
  ASSERT_TRUE(f.ok());
  int v = 0;
  // 4294967300 read as int used to become 4.
  EXPECT_TRUE(FailsWith(f->Int("a", &v, 1, 1000),
                        {"x.json: field 'a' must be an integer in [1, 1000], got 4294967300"}));
  EXPECT_TRUE(FailsWith(f->Int("b", &v, 0, 10), {"field 'b'", "got -1"}));
  EXPECT_TRUE(FailsWith(f->Int("c", &v, 0, 10), {"field 'c'", "got 2.5"}));
  EXPECT_TRUE(FailsWith(f->Int("d", &v, 0, 10), {"field 'd'", "got \"7\""}));
  int64_t w = 0;
  EXPECT_TRUE(FailsWith(f->Int("e", &w, 0, std::numeric_limits<int64_t>::max()),
                        {"got 18446744073709551615"}));
  // The target type's range applies even when the caller's bounds are wider.
  int8_t small = 0;
  EXPECT_TRUE(f->Int("f", &small, -1000, 1000).ok());
  EXPECT_EQ(small, 7);
  EXPECT_TRUE(FailsWith(f->Int("a", &small, -1000, 1000), {"[-128, 127]"}));
  EXPECT_EQ(v, 0) << "a failed read must not change the output";
  EXPECT_TRUE(f->Int("missing", &v, 1, 2).ok());
  EXPECT_EQ(v, 0);
}

TEST(JsonFields, NumbersMustBeFiniteAndInRange) {
  const json j = {{"nan", std::nan("")}, {"lr", 0.0}, {"p", 5}, {"s", "x"}};
  auto f = JsonFields::Of(j, "t.json");
  ASSERT_TRUE(f.ok());
  double d = 1.0;
  EXPECT_TRUE(FailsWith(f->Number("nan", &d, 0, 1), {"field 'nan' must be a finite number"}));
  EXPECT_TRUE(FailsWith(f->Number("lr", &d, 0, 10, /*lo_open=*/true), {"in (0, 10]", "got 0"}));
  EXPECT_TRUE(FailsWith(f->Number("p", &d, 0, 1), {"in [0, 1]", "got 5"}));
  EXPECT_TRUE(FailsWith(f->Number("s", &d, 0, 1), {"got \"x\""}));
  EXPECT_EQ(d, 1.0);
  auto nested = f->Object("lr");
  EXPECT_TRUE(FailsWith(nested, {"field 'lr' must be a JSON object"}));
  const json k = {{"data", {{"max_seq_len", 0}}}};
  auto g = JsonFields::Of(k, "t.json");
  auto data = g->Object("data");
  ASSERT_TRUE(data.ok());
  int64_t n = 5;
  EXPECT_TRUE(
      FailsWith(data->Int("max_seq_len", &n, 2, 100),
                {"t.json: field 'data.max_seq_len' must be an integer in [2, 100], got 0"}));
  EXPECT_TRUE(FailsWith(data->OnlyKnown({"min_tokens"}), {"unknown field 'data.max_seq_len'"}));
}

TEST(ThreadLimit, RefusesCountsThatBreakLibgomp) {
  EXPECT_TRUE(CheckThreadCount(0, "--threads").ok());
  EXPECT_TRUE(CheckThreadCount(MaxThreads(), "--threads").ok());
  EXPECT_TRUE(FailsWith(CheckThreadCount(100000, "--threads"), {"--threads must be in [0, "}));
  EXPECT_TRUE(FailsWith(CheckThreadCount(-1, "--threads"), {"got -1"}));
}

}  // namespace
}  // namespace mbert::hardening
