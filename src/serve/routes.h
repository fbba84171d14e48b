// The HTTP routes as plain functions of (state, request body) -> Reply, independent of the HTTP
// library: server.cpp registers them, adds auth, CORS, timing headers and logging, and renders
// thrown ApiErrors. Each route family lives in its own routes_*.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "serve/scheduler.h"
#include "serve/state.h"

namespace mbert::serve {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Set by routes that ran a job (the TEI timing headers); negative otherwise.
  double queue_ms = -1.0;
  double inference_ms = -1.0;
  int64_t tokens = 0;  // tokens computed for this request (x-compute-tokens)
};

using RouteFn = Reply (*)(ServerState& state, const std::string& body);

struct Route {
  const char* method;  // "GET" or "POST"
  const char* path;
  RouteFn fn;
  bool openai = false;  // OpenAI error shape
  bool auth = true;     // needs the API key when one is set
};

// Every route, in registration order.
const std::vector<Route>& Routes();

// Route families (routes_*.cpp).
Reply OpenAiEmbeddings(ServerState& s, const std::string& body);
Reply Embed(ServerState& s, const std::string& body);
Reply EmbedAll(ServerState& s, const std::string& body);
Reply Predict(ServerState& s, const std::string& body);
Reply Rerank(ServerState& s, const std::string& body);
Reply Tokenize(ServerState& s, const std::string& body);
Reply Decode(ServerState& s, const std::string& body);
Reply FillMask(ServerState& s, const std::string& body);
Reply Models(ServerState& s, const std::string& body);
Reply Info(ServerState& s, const std::string& body);
Reply Health(ServerState& s, const std::string& body);
Reply MetricsText(ServerState& s, const std::string& body);

// Shared by the inference routes: queues a job on the model's scheduler and waits for it.
// A full queue is 429, a draining server 503, a failed task 500; the reply gets the job's
// timings and token count.
JobResult RunJob(ServerState& s, const ServedModel& m, const TaskParams& params,
                 std::vector<std::vector<int32_t>> seqs, int64_t tokens, Reply* reply);

}  // namespace mbert::serve
