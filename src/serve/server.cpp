#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "core/warn.h"
#include "serve/api_error.h"
#include "serve/routes.h"

namespace mbert::serve {

namespace {

using Clock = std::chrono::steady_clock;

// Each connection is handled start to end on one pool thread, so the pre-routing handler can
// leave the request's start time here for the handler and the logger.
thread_local Clock::time_point t_request_start;

// 0 when unset: a request the library refuses before routing (a malformed request line) never
// reaches the pre-routing handler.
double MsSince(Clock::time_point t) {
  if (t == Clock::time_point{}) return 0.0;
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", ms);
  return buf;
}

bool IsOpenAiPath(const std::string& path) { return path.rfind("/v1/", 0) == 0; }

// The methods a known path answers ("" for an unknown path).
std::string AllowedMethods(const std::string& path) {
  std::string allow;
  for (const Route& r : Routes())
    if (path == r.path) allow += std::string(allow.empty() ? "" : ", ") + r.method;
  return allow;
}

void SetError(httplib::Response& res, int status, const std::string& type,
              const std::string& message, bool openai) {
  res.status = status;
  res.set_content(ErrorBody(type, message, openai), "application/json");
}

// cpp-httplib 0.11 listens with a backlog of 5 (compiled into Debian's library): a burst of
// concurrent clients overflows it and their connections wait for SYN retransmits (1 s and up)
// or fail. Listening again on the bound socket raises the backlog (Linux updates it in place).
class HttpServer : public httplib::Server {
 public:
  void RaiseBacklog(int backlog) {
    const socket_t sock = svr_sock_;
    if (sock != INVALID_SOCKET) ::listen(sock, backlog);
  }
};

}  // namespace

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  // Runs over the longer length whatever the contents; the length difference is folded in
  // rather than returned early.
  const size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

struct Server::Impl {
  ServerState state;
  HttpServer http;
  int port = 0;
  std::atomic<int64_t> next_request_id{0};
  std::mutex mu;
  std::condition_variable cv;
  bool shutdown_requested = false;
  std::atomic<bool> listener_done{false};

  bool Authorized(const httplib::Request& req) const;
  // Reads the body (bounded) and answers the route.
  void Dispatch(const Route& route, const httplib::Request& req, const std::string& body,
                httplib::Response& res);
  // 0, or the status that refuses the body (413 too large, 400 unreadable).
  int ReadBody(const httplib::Request& req, const httplib::ContentReader& reader,
               httplib::Response& res, std::string* body) const;
  void Fallback(const httplib::Request& req, httplib::Response& res);
  void Preflight(const httplib::Request& req, httplib::Response& res);
  void Log(const httplib::Request& req, const httplib::Response& res);
  void SetUp();
};

bool Server::Impl::Authorized(const httplib::Request& req) const {
  const std::string& key = state.options.api_key;
  if (key.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  static const std::string kBearer = "bearer ";
  std::string scheme = header.substr(0, std::min(header.size(), kBearer.size()));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  const std::string given = scheme == kBearer ? header.substr(kBearer.size()) : std::string();
  return ConstantTimeEquals(given, key);
}

int Server::Impl::ReadBody(const httplib::Request& req, const httplib::ContentReader& reader,
                           httplib::Response& res, std::string* body) const {
  // The library's multipart parser needs callbacks this server has no use for.
  if (req.is_multipart_form_data()) return 415;
  const size_t limit = static_cast<size_t>(state.options.max_body_bytes);
  // Past the limit the rest is read and dropped (up to 16 times the limit) rather than left
  // unread: closing on unread data resets the connection, and the client would lose the 413.
  const size_t drain = limit > SIZE_MAX / 16 ? SIZE_MAX : limit * 16;
  size_t seen = 0;
  bool over = false;
  // A Content-Length over the limit fails here at once (the library sets 413 and skips the
  // body); a chunked body, which the library would read whole, is bounded by this receiver.
  const bool ok = reader([&](const char* data, size_t n) {
    seen += n;
    if (seen > limit) {
      over = true;
      std::string().swap(*body);
      return seen <= drain;
    }
    body->append(data, n);
    return true;
  });
  if (over || res.status == 413) return 413;
  return ok ? 0 : 400;
}

void Server::Impl::Dispatch(const Route& route, const httplib::Request& req,
                            const std::string& body, httplib::Response& res) {
  Reply reply;
  try {
    if (route.auth && !Authorized(req))
      throw ApiError(401, kAuth, "missing or wrong API key (send Authorization: Bearer KEY)");
    reply = route.fn(state, body);
  } catch (const ApiError& e) {
    reply = Reply{};
    reply.status = e.status();
    reply.body = ErrorBody(e.type(), e.message(), route.openai);
  } catch (const std::exception& e) {
    // A bug or out of memory in this request only: answer it and keep serving.
    reply = Reply{};
    reply.status = 500;
    reply.body = ErrorBody(kBackend, std::string("internal error: ") + e.what(), route.openai);
  } catch (...) {
    reply = Reply{};
    reply.status = 500;
    reply.body = ErrorBody(kBackend, "internal error", route.openai);
  }
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type.c_str());
  if (reply.queue_ms >= 0) {
    res.set_header("x-queue-time", Ms(reply.queue_ms));
    res.set_header("x-inference-time", Ms(reply.inference_ms));
  }
  if (reply.tokens > 0) res.set_header("x-compute-tokens", std::to_string(reply.tokens));
  res.set_header("x-total-time", Ms(MsSince(t_request_start)));
}

void Server::Impl::Fallback(const httplib::Request& req, httplib::Response& res) {
  const std::string allow = AllowedMethods(req.path);
  if (allow.empty()) {
    SetError(res, 404, kNotFound, "no route " + req.path, IsOpenAiPath(req.path));
  } else {
    res.set_header("Allow", allow);
    SetError(res, 405, kNotFound,
             req.method + " is not allowed on " + req.path + " (" + allow + ")",
             IsOpenAiPath(req.path));
  }
}

void Server::Impl::Preflight(const httplib::Request& req, httplib::Response& res) {
  const std::string allow = AllowedMethods(req.path);
  if (allow.empty()) {
    SetError(res, 404, kNotFound, "no route " + req.path, IsOpenAiPath(req.path));
    return;
  }
  res.status = 204;
  res.set_header("Allow", allow + ", OPTIONS");
  if (!state.options.cors_origin.empty()) {
    res.set_header("Access-Control-Allow-Methods", allow + ", OPTIONS");
    res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
    res.set_header("Access-Control-Max-Age", "86400");
  }
}

void Server::Impl::Log(const httplib::Request& req, const httplib::Response& res) {
  const double ms = MsSince(t_request_start);
  t_request_start = Clock::time_point{};  // the next request on this thread sets its own
  // Only known routes become label values: unknown paths must not grow the metric without
  // bound.
  const std::string route = AllowedMethods(req.path).empty() ? "other" : req.path;
  state.metrics.CountRequest(route, res.status);
  state.metrics.request_seconds.Observe(ms / 1e3);
  if (!state.options.log_requests) return;
  const std::string id = res.get_header_value("x-request-id");
  const std::string tokens = res.get_header_value("x-compute-tokens");
  std::fprintf(stderr, "[mbert serve] #%s %s %s %d %.1f ms %s tokens\n", id.c_str(),
               req.method.c_str(), req.path.c_str(), res.status, ms,
               tokens.empty() ? "0" : tokens.c_str());
}

void Server::Impl::SetUp() {
  const ServeOptions& o = state.options;
  // Enough handler threads for full queues plus a few for /health, /metrics and the 429s
  // themselves: a handler thread waits while its job is queued.
  const size_t queues = static_cast<size_t>(o.max_queue) * state.models.size();
  const size_t threads = std::min<size_t>(queues, 2048) + 8;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(static_cast<size_t>(o.max_body_bytes));
  // Answers are written in pieces (headers, body): without TCP_NODELAY, Nagle's algorithm holds
  // the last piece until the client's delayed ACK (~40 ms on Linux) — measured as ~85 ms p50 for
  // a 2 ms request on keep-alive connections.
  http.set_tcp_nodelay(true);
  http.set_pre_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    t_request_start = Clock::now();
    res.set_header("x-request-id", std::to_string(++next_request_id));
    if (!state.options.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", state.options.cors_origin);
      // Browsers hide other response headers from scripts unless exposed.
      res.set_header("Access-Control-Expose-Headers",
                     "x-request-id, x-queue-time, x-inference-time, x-total-time, "
                     "x-compute-tokens");
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  for (const Route& route : Routes()) {
    if (std::string(route.method) == "GET") {
      http.Get(route.path, [this, &route](const httplib::Request& req, httplib::Response& res) {
        Dispatch(route, req, std::string(), res);
      });
      continue;
    }
    // Content-reader handlers: the body is read here, within the limit, not by the library.
    http.Post(route.path, [this, &route](const httplib::Request& req, httplib::Response& res,
                                         const httplib::ContentReader& reader) {
      std::string body;
      const int refused = ReadBody(req, reader, res, &body);
      if (refused == 0) return Dispatch(route, req, body, res);
      const std::string message =
          refused == 413 ? "the request body is larger than " +
                               std::to_string(state.options.max_body_bytes) + " bytes"
          : refused == 415 ? "send the body as JSON (Content-Type: application/json)"
                           : "the request body could not be read (send it with a Content-Length)";
      SetError(res, refused, kValidation, message, route.openai);
    });
  }
  auto fallback = [this](const httplib::Request& req, httplib::Response& res) {
    Fallback(req, res);
  };
  http.Get(".*", fallback);
  http.Delete(".*", fallback);  // a DELETE without a body skips the content-reader handlers
  // Bodies sent to unknown routes are drained (bounded) like any other before the 404/405.
  auto drain_then_fallback = [this](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
    std::string body;
    ReadBody(req, reader, res, &body);
    Fallback(req, res);
  };
  http.Post(".*", drain_then_fallback);
  http.Put(".*", drain_then_fallback);
  http.Patch(".*", drain_then_fallback);
  http.Delete(".*", drain_then_fallback);
  http.Options(
      ".*", [this](const httplib::Request& req, httplib::Response& res) { Preflight(req, res); });
  // Responses of 400 and above that the library makes itself (413 for a large body, 400 for a
  // malformed request) get the JSON error body; those with a body already keep it.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const std::string message =
            res.status == 413 ? "the request body is too large"
                              : "request failed (HTTP " + std::to_string(res.status) + ")";
        SetError(res, res.status, ErrorTypeForStatus(res.status), message, IsOpenAiPath(req.path));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        SetError(res, 500, kBackend, "internal error", IsOpenAiPath(req.path));
      });
  http.set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });
}

Server::Server() : impl_(std::make_unique<Impl>()) {}

Server::~Server() {
  Shutdown();
  for (ServedModel& m : impl_->state.models) m.scheduler->Stop();
}

Result<std::unique_ptr<Server>> Server::Create(const ServeOptions& options) {
  if (options.models.empty()) return Status::Error("no model to serve (--model)");
  if (options.max_batch_tokens <= 0 || options.max_queue <= 0 || options.max_body_bytes <= 0)
    return Status::Error("max batch tokens, max queue and max body bytes must be positive");
  std::unique_ptr<Server> server(new Server());
  ServerState& state = server->impl_->state;
  state.options = options;
  std::set<std::string> names;
  for (const ModelSpec& spec : options.models) {
    if (!names.insert(spec.name).second)
      return Status::Error("two models are named `" + spec.name + "`; name them name=DIR");
    LoadOptions load;
    load.dtype = options.dtype;
    SchedulerOptions so;
    so.max_batch_tokens = options.max_batch_tokens;
    so.max_queue = options.max_queue;
    so.threads = options.threads;
    // The scheduler's worker loads the model: see scheduler.h on why OpenMP work stays there.
    auto scheduler = Scheduler::Start(spec.source, load, so, &state.metrics);
    if (!scheduler.ok()) return scheduler.status().Wrap("model `" + spec.name + "`");
    ServedModel m;
    m.name = spec.name;
    m.scheduler = std::move(scheduler).value();
    m.model = m.scheduler->model();
    const int64_t model_max = m.model->info().max_position_embeddings;
    m.max_input_tokens =
        options.max_input_tokens > 0 ? std::min(options.max_input_tokens, model_max) : model_max;
    if (options.max_input_tokens > model_max)
      Warn("--max-input-tokens " + std::to_string(options.max_input_tokens) + " is above model `" +
           spec.name + "`'s max_position_embeddings " + std::to_string(model_max) + "; using " +
           std::to_string(model_max));
    state.models.push_back(std::move(m));
  }
  server->impl_->SetUp();
  return server;
}

Status Server::Bind() {
  const ServeOptions& o = impl_->state.options;
  if (o.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(o.host);
    if (impl_->port <= 0) return Status::Error("cannot bind " + o.host + " to any port");
  } else {
    if (!impl_->http.bind_to_port(o.host, o.port))
      return Status::Error("cannot bind " + o.host + ":" + std::to_string(o.port) +
                           " (in use, or not an address of this machine?)");
    impl_->port = o.port;
  }
  impl_->http.RaiseBacklog(std::max(1024, o.max_queue));
  return Status::Ok();
}

int Server::port() const { return impl_->port; }

Status Server::Run() {
  Impl& s = *impl_;
  bool listened = true;
  std::thread listener([&s, &listened] {
    listened = s.http.listen_after_bind();
    s.listener_done = true;
    std::lock_guard<std::mutex> lock(s.mu);
    s.cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.cv.wait(lock, [&s] { return s.shutdown_requested || s.listener_done; });
  }
  // stop() is a no-op until the listener runs: wait for it (it starts at once, or has
  // failed and finished).
  while (!s.http.is_running() && !s.listener_done)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Closes the listening socket; the listener returns once the handler threads have finished
  // their requests (their jobs still run: the schedulers stop only below).
  s.http.stop();
  listener.join();
  s.state.draining = true;
  for (ServedModel& m : s.state.models) m.scheduler->Stop();
  bool requested;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    requested = s.shutdown_requested;
  }
  // listen_after_bind() also returns false after stop(); only an unrequested end is an error.
  if (!listened && !requested) return Status::Error("the HTTP listener failed");
  return Status::Ok();
}

void Server::Shutdown() {
  impl_->state.draining = true;
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->shutdown_requested = true;
  impl_->cv.notify_all();
}

Scheduler& Server::scheduler(size_t i) { return *impl_->state.models.at(i).scheduler; }

ServerState& Server::state() { return impl_->state; }

}  // namespace mbert::serve
