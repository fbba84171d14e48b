// Runs the built `mbert` binary as a child process and reports what a shell would see: exit code
// or the signal that killed it, stdout, stderr, and its peak RSS (wait4's rusage).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace mbert::testing {

struct CliResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
  int64_t max_rss_kb = 0;
};

inline std::string TestDataDir() {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return d ? d : "tests/data";
}

inline std::string MbertBinary() {
  const char* d = std::getenv("MBERT_BUILD_DIR");
  return std::string(d ? d : ".") + "/tools/mbert/mbert";
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// stdin from `stdin_path` (/dev/null when empty); stdout to `stdout_path` when given (then `out`
// stays empty), else captured.
inline CliResult RunMbert(const std::vector<std::string>& args, const std::string& stdin_path = "",
                          const std::string& stdout_path = "") {
  static int counter = 0;
  const std::string base = ::testing::TempDir() + "/mbert_cli_" + std::to_string(getpid()) + "_" +
                           std::to_string(counter++);
  const std::string out_path = stdout_path.empty() ? base + ".out" : stdout_path;
  const std::string err_path = base + ".err";
  std::vector<std::string> argv_s = {MbertBinary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  CliResult r;
  int status = 0;
  rusage usage{};
  if (pid < 0 || wait4(pid, &status, 0, &usage) != pid) {
    ADD_FAILURE() << "cannot run " << argv_s[0];
    return r;
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.max_rss_kb = usage.ru_maxrss;
  if (stdout_path.empty()) r.out = ReadAll(out_path);
  r.err = ReadAll(err_path);
  return r;
}

inline std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

}  // namespace mbert::testing
