// `mbert serve` as a process: it comes up healthy, answers, and exits 0 on SIGTERM.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "serve_test_util.h"

namespace mbert::serve::testing {
namespace {

// A port that was free a moment ago (the kernel's pick for port 0).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// waitpid with a deadline; -1 when the child is still running after `seconds`.
int WaitExit(pid_t pid, double seconds) {
  int status = 0;
  const bool done = WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds);
  if (!done) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ServeCli, ServesThenExitsZeroOnSigterm) {
  const char* build = std::getenv("MBERT_BUILD_DIR");
  const std::string binary = std::string(build ? build : ".") + "/tools/mbert/mbert";
  // ctest sets MBERT_BUILD_DIR and builds the CLI first: a missing binary is a failure, never a
  // silent skip.
  ASSERT_TRUE(std::filesystem::exists(binary)) << binary << " not built (run through ctest)";
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string port_arg = std::to_string(port);
  const std::string model = ModelDir("tiny-mlm");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(binary.c_str(), binary.c_str(), "serve", "--model", model.c_str(), "--port",
          port_arg.c_str(), "--threads", "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(1);
  cli.set_read_timeout(10);
  const bool healthy = WaitFor(
      [&] {
        auto r = cli.Get("/health");
        return r && r->status == 200;
      },
      30.0);
  EXPECT_TRUE(healthy);
  if (healthy) {
    auto r = cli.Post("/embed", R"({"inputs": "from the command line"})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(ParseJson(r)[0].size(), 64u);
  }
  kill(pid, SIGTERM);
  const int code = WaitExit(pid, 30.0);
  if (code == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace mbert::serve::testing
