// mbert::serve::Server: the HTTP server behind `mbert serve`. It loads every model before it
// listens, answers the routes of routes.h over cpp-httplib's thread pool, batches inference
// through one Scheduler per model, and shuts down gracefully: Shutdown() (what SIGTERM
// triggers) stops accepting connections, lets in-flight requests finish, drains the queues,
// and Run() returns.
//
//   auto server = Server::Create(options);        // loads the models
//   server.value()->Bind();                      // port 0: any free port, see port()
//   server.value()->Run();                       // until Shutdown()
#pragma once

#include <memory>

#include "mbert/status.h"
#include "serve/options.h"
#include "serve/scheduler.h"
#include "serve/state.h"

namespace mbert::serve {

class Server {
 public:
  static Result<std::unique_ptr<Server>> Create(const ServeOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds options.host:options.port (port 0: any free port).
  Status Bind();
  int port() const;

  // Serves until Shutdown(); then waits for in-flight requests, drains every scheduler and
  // returns. Call after Bind().
  Status Run();

  // Thread-safe, idempotent, returns at once. /health turns 503 and new inference requests
  // 503; Run() closes the listening socket and finishes as described above.
  void Shutdown();

  // Test hooks: the scheduler of options.models[i] (e.g. to pause it) and the shared state.
  Scheduler& scheduler(size_t i);
  ServerState& state();

 private:
  Server();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Equal strings in time that depends only on the longer length, never on where they differ
// (API keys).
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace mbert::serve
