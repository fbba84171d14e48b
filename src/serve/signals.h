// Graceful shutdown on SIGTERM / SIGINT. The signal handler only writes a byte to a self-pipe
// (async-signal-safe); a watcher thread reads it and calls the callback (Server::Shutdown) in
// ordinary thread context. After the first signal the previous handlers come back, so a
// second Ctrl-C ends the process at once.
#pragma once

#include <functional>
#include <thread>

namespace mbert::serve {

class SignalWatcher {
 public:
  // Installs the handlers; one watcher may exist at a time.
  explicit SignalWatcher(std::function<void()> on_signal);
  // Restores the previous handlers and stops the watcher thread.
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::thread watcher_;
};

}  // namespace mbert::serve
