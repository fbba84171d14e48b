// The built `mbert` run with bad flags and bad files, as issue #14's probes did: each must exit
// non-zero by itself (no signal, no hang) with a message naming the problem.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "hardening_util.h"

namespace mbert::hardening {
namespace {

struct Outcome {
  int exit_code = -1;  // -1: killed by a signal or by the timeout
  int signal = 0;
  bool timed_out = false;
  std::string stderr_text;
};

::testing::AssertionResult FailsCleanly(const Outcome& o, const std::string& message) {
  if (o.timed_out) return ::testing::AssertionFailure() << "hung (killed after the timeout)";
  if (o.signal != 0)
    return ::testing::AssertionFailure() << "died of signal " << o.signal << ": " << o.stderr_text;
  if (o.exit_code == 0) return ::testing::AssertionFailure() << "exit 0: " << o.stderr_text;
  if (o.stderr_text.find(message) == std::string::npos)
    return ::testing::AssertionFailure() << "stderr lacks '" << message << "': " << o.stderr_text;
  return ::testing::AssertionSuccess();
}

Outcome RunMbert(const std::vector<std::string>& args, double timeout_s = 60.0) {
  const char* build = std::getenv("MBERT_BUILD_DIR");
  const std::string binary = std::string(build ? build : ".") + "/tools/mbert/mbert";
  EXPECT_TRUE(fs::exists(binary)) << binary << " not built (run through ctest)";
  const std::string err = ScratchDir("cli_stderr") + "/stderr.txt";
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    dup2(fd, 1);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  Outcome o;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      o.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!o.timed_out && WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  if (!o.timed_out && WIFSIGNALED(status)) o.signal = WTERMSIG(status);
  o.stderr_text = ReadText(err);
  return o;
}

std::string TinyModel() { return TestDataDir() + "/tiny-mlm"; }

TEST(CliProbes, AbsurdThreadCount) {
  // Before: SIGSEGV inside libgomp.
  EXPECT_TRUE(
      FailsCleanly(RunMbert({"--threads", "100000", "embed", "hi"}), "--threads must be in [0, "));
  EXPECT_TRUE(FailsCleanly(RunMbert({"--threads", "-3", "info"}), "--threads"));
  // The server's own flag (per model worker) goes through the same check.
  EXPECT_TRUE(FailsCleanly(RunMbert({"serve", "--threads", "100000", "--port", "0"}),
                           "serve --threads must be in [0, "));
}

TEST(CliProbes, IntegerFlagsNameTheirBound) {
  // Before: CLI11's PositiveNumber said "Value 0 not in range 0.000000 to 1797693...".
  EXPECT_TRUE(FailsCleanly(RunMbert({"fill-mask", "--top-k", "0", "a [MASK]"}),
                           "--top-k: must be >= 1, got 0"));
  EXPECT_TRUE(FailsCleanly(RunMbert({"embed", "--batch-tokens", "99999999999999999999999", "hi"}),
                           "--batch-tokens: must be an integer >= 1 that fits in 64 bits"));
  EXPECT_TRUE(FailsCleanly(RunMbert({"serve", "--max-queue", "-1"}), "--max-queue: must be >= 1"));
  // Above the model's maximum: a warning saying what is used instead (the host that cannot be
  // bound ends the server right after the models are loaded).
  const Outcome capped =
      RunMbert({"serve", "--max-input-tokens", "100000000", "--host", "256.0.0.1", "--port", "0"});
  EXPECT_NE(capped.stderr_text.find("warning: --max-input-tokens 100000000 is above model "
                                    "`tiny-mlm`'s max_position_embeddings 8192; using 8192"),
            std::string::npos)
      << capped.stderr_text;
}

TEST(CliProbes, ConfigJsonThatIsAFifoOrDevZero) {
  const std::string dir = ScratchDir("cli_fifo");
  fs::copy_file(TinyModel() + "/model.safetensors", dir + "/model.safetensors");
  ASSERT_EQ(0, mkfifo((dir + "/config.json").c_str(), 0600));
  // Before: hung forever in open().
  EXPECT_TRUE(FailsCleanly(RunMbert({"info", "--model", dir}, 20.0), "not a regular file"));
  fs::remove(dir + "/config.json");
  fs::create_symlink("/dev/zero", dir + "/config.json");
  // Before: read /dev/zero until memory ran out.
  EXPECT_TRUE(FailsCleanly(RunMbert({"info", "--model", dir}, 20.0), "not a regular file"));
}

TEST(CliProbes, ConfigIntegerBeyondItsType) {
  const std::string dir = ScratchDir("cli_layers");
  fs::copy(TinyModel(), dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  std::string cfg = ReadText(TinyModel() + "/config.json");
  const size_t colon = cfg.find(':', cfg.find("\"num_hidden_layers\""));
  const size_t end = cfg.find_first_of(",}", colon);
  cfg.replace(colon + 1, end - colon - 1, " 4294967300");
  WriteText(dir + "/config.json", cfg);
  // Before: read as 4 layers.
  EXPECT_TRUE(FailsCleanly(RunMbert({"info", "--model", dir}),
                           "field 'num_hidden_layers' must be an integer in [1, 1024], got "
                           "4294967300"));
}

TEST(CliProbes, BenchRefusesUnknownWorkloadsAndAModelOfAnotherShape) {
  const std::string out = ScratchDir("cli_bench");
  // Before: ran as varlong and was recorded under the misspelt name.
  EXPECT_TRUE(FailsCleanly(RunMbert({"bench", "--out", out, "--workloads", "fixd512"}), "fixd512"));
  // Before: the tiny model left in --out was timed and recorded as base.
  fs::create_directories(out + "/model");
  fs::copy_file(TinyModel() + "/config.json", out + "/model/config.json");
  EXPECT_TRUE(FailsCleanly(RunMbert({"bench", "--shape", "base", "--out", out, "--workloads",
                                     "latency128", "--repeats", "1"}),
                           "holds a model of another shape"));
  EXPECT_TRUE(FailsCleanly(RunMbert({"bench", "--out", out, "--scale", "1e12"}), "--scale"));
}

TEST(CliProbes, TrainRefusesBadConfigsAndFlags) {
  const std::string dir = ScratchDir("cli_train");
  WriteText(dir + "/train.json",
            R"({"output_dir": "out", "model": {}, "tokenizer": "t", "log_every": 0})");
  // Before: SIGFPE on the first step.
  EXPECT_TRUE(FailsCleanly(RunMbert({"train", "--config", dir + "/train.json"}),
                           "field 'log_every' must be an integer in [1, "));
  WriteText(dir + "/train.json",
            R"({"output_dir": "out", "model": {}, "tokenizer": "t", "data": {"max_seq_len": 0}})");
  EXPECT_TRUE(FailsCleanly(RunMbert({"train", "--config", dir + "/train.json"}),
                           "field 'data.max_seq_len'"));
  EXPECT_TRUE(FailsCleanly(RunMbert({"train", "--config", "/dev/zero"}), "not a regular file"));
  EXPECT_TRUE(FailsCleanly(RunMbert({"train", "--config", dir + "/train.json", "--max-steps", "0"}),
                           "--max-steps"));
  // A tokenizer directory without tokenizer.json: the error names the config field (it used to
  // tell the user to fix --model, a flag `train` does not have).
  fs::create_directories(dir + "/no-tokenizer");
  WriteText(dir + "/train.json",
            R"({"output_dir": ")" + dir +
                R"(/out", "model": {"hidden_size": 32, )"
                R"("intermediate_size": 48, "num_hidden_layers": 1, "num_attention_heads": 2}, )"
                R"("tokenizer": ")" +
                dir + R"(/no-tokenizer", "data": {"train": ["x.txt"]}})");
  EXPECT_TRUE(FailsCleanly(RunMbert({"train", "--config", dir + "/train.json"}),
                           "training config field 'tokenizer'"));
}

}  // namespace
}  // namespace mbert::hardening
