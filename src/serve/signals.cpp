#include "serve/signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace mbert::serve {

namespace {

int g_pipe[2] = {-1, -1};
struct sigaction g_old_term, g_old_int;
std::atomic<bool> g_restored{false};

constexpr char kSignal = 's';
constexpr char kQuit = 'q';

void OnSignal(int) {
  const int saved = errno;
  const char c = kSignal;
  [[maybe_unused]] ssize_t n = write(g_pipe[1], &c, 1);
  errno = saved;
}

void RestoreHandlers() {
  if (g_restored.exchange(true)) return;
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGINT, &g_old_int, nullptr);
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void()> on_signal) {
  if (pipe(g_pipe) != 0) return;  // no watcher: signals keep their default action
  g_restored = false;
  struct sigaction sa = {};
  sa.sa_handler = &OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, &g_old_term);
  sigaction(SIGINT, &sa, &g_old_int);
  watcher_ = std::thread([cb = std::move(on_signal)] {
    for (;;) {
      char c = 0;
      const ssize_t n = read(g_pipe[0], &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || c == kQuit) return;
      RestoreHandlers();
      cb();
      return;
    }
  });
}

SignalWatcher::~SignalWatcher() {
  RestoreHandlers();
  if (watcher_.joinable()) {
    const char c = kQuit;
    [[maybe_unused]] ssize_t n = write(g_pipe[1], &c, 1);
    watcher_.join();
  }
  if (g_pipe[0] >= 0) {
    close(g_pipe[0]);
    close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
  }
}

}  // namespace mbert::serve
