// Helpers of the server tests: an in-process server on 127.0.0.1 (any free port) over the tiny
// test models, and a bounded-timeout client for it.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../model/test_util.h"
#include "serve/server.h"

namespace mbert::serve::testing {

using Json = nlohmann::json;

inline std::string ModelDir(const std::string& name) {
  return mbert::testing::TestDataDir() + "/" + name;
}

inline ServeOptions OptionsFor(const std::vector<std::pair<std::string, std::string>>& models) {
  ServeOptions o;
  for (const auto& [name, dir] : models) o.models.push_back({name, ModelDir(dir)});
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.log_requests = false;
  return o;
}

// Runs a Server on its own thread for the test's lifetime.
class TestServer {
 public:
  explicit TestServer(const ServeOptions& options) {
    auto s = Server::Create(options);
    if (!s.ok()) {
      ADD_FAILURE() << s.status().message();
      return;
    }
    server_ = std::move(s).value();
    Status st = server_->Bind();
    if (!st.ok()) {
      ADD_FAILURE() << st.message();
      server_.reset();
      return;
    }
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
  }
  ~TestServer() { Stop(); }

  // Shutdown() and wait for Run() to return.
  void Stop() {
    if (!thread_.joinable()) return;
    server_->Shutdown();
    thread_.join();
  }
  bool ok() const { return server_ != nullptr; }
  Server& server() { return *server_; }
  int port() const { return server_->port(); }
  bool stopped() const { return !thread_.joinable(); }
  std::thread& thread() { return thread_; }

  std::unique_ptr<httplib::Client> Client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    c->set_connection_timeout(5);
    c->set_read_timeout(20);
    c->set_write_timeout(20);
    return c;
  }
  httplib::Result Post(const std::string& path, const Json& body,
                       const httplib::Headers& headers = {}) const {
    return Client()->Post(path.c_str(), headers, body.dump(), "application/json");
  }
  httplib::Result PostRaw(const std::string& path, const std::string& body,
                          const httplib::Headers& headers = {}) const {
    return Client()->Post(path.c_str(), headers, body, "application/json");
  }
  httplib::Result Get(const std::string& path, const httplib::Headers& headers = {}) const {
    return Client()->Get(path.c_str(), headers);
  }

 private:
  std::unique_ptr<Server> server_;
  std::thread thread_;
  Status run_status_;
};

// Polls `cond` every 5 ms for at most `seconds`.
inline bool WaitFor(const std::function<bool()>& cond, double seconds = 10.0) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

inline Json ParseJson(const httplib::Result& r) {
  if (!r) return Json();
  return Json::parse(r->body, nullptr, false);
}

// The engine is not bitwise batch-invariant: oneDNN rounds the tails of GEMM rows differently
// for different row counts, so the same input alone and inside a batch can differ in the last
// bits. Compare within 1e-5 relative to the vector's scale.
inline void ExpectRowsClose(const std::vector<float>& got, const std::vector<float>& want,
                            const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0.0;
  for (float v : want) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), 1e-5 * scale + 1e-7)
        << what << " element " << i;
}

inline std::vector<float> Floats(const Json& arr) {
  std::vector<float> v;
  for (const auto& x : arr) v.push_back(x.get<float>());
  return v;
}

}  // namespace mbert::serve::testing
