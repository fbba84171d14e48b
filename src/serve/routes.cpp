#include "serve/routes.h"

#include "serve/api_error.h"
#include "serve/web_page.h"

namespace mbert::serve {

const std::vector<Route>& Routes() {
  static const std::vector<Route> kRoutes = {
      {"POST", "/v1/embeddings", &OpenAiEmbeddings, true},
      {"POST", "/embeddings", &OpenAiEmbeddings, true},
      {"GET", "/v1/models", &Models, true},
      {"POST", "/embed", &Embed},
      {"POST", "/embed_all", &EmbedAll},
      {"POST", "/predict", &Predict},
      {"POST", "/rerank", &Rerank},
      {"POST", "/tokenize", &Tokenize},
      {"POST", "/decode", &Decode},
      {"POST", "/fill-mask", &FillMask},
      {"GET", "/info", &Info},
      // Load balancers probe health without credentials.
      {"GET", "/health", &Health, false, false},
      {"GET", "/metrics", &MetricsText},
      // The page to try the models in a browser; its own requests carry the key.
      {"GET", "/", &WebPage, false, false},
  };
  return kRoutes;
}

JobResult RunJob(ServerState& s, const ServedModel& m, const TaskParams& params,
                 std::vector<std::vector<int32_t>> seqs, int64_t tokens, Reply* reply) {
  if (s.draining) throw ApiError(503, kUnhealthy, "the server is shutting down");
  Scheduler::Refusal refusal = Scheduler::Refusal::kNone;
  std::future<JobResult> future = m.scheduler->Submit(params, std::move(seqs), &refusal);
  if (refusal == Scheduler::Refusal::kQueueFull)
    throw ApiError(429, kOverloaded,
                   "model `" + m.name + "` has " + std::to_string(s.options.max_queue) +
                       " requests queued already (max queue); retry later");
  if (refusal == Scheduler::Refusal::kStopped)
    throw ApiError(503, kUnhealthy, "the server is shutting down");
  JobResult r = future.get();
  if (!r.status.ok()) throw ApiError(500, kBackend, r.status.message());
  reply->queue_ms = r.queue_seconds * 1e3;
  reply->inference_ms = r.inference_seconds * 1e3;
  reply->tokens = tokens;
  return r;
}

const ServedModel& ServerState::PickModel(const Json& body) const {
  auto name = OptionalString(body, "model");
  if (!name) return models.front();
  for (const ServedModel& m : models)
    if (m.name == *name) return m;
  std::string known;
  for (const ServedModel& m : models) known += (known.empty() ? "" : ", ") + m.name;
  throw ApiError(422, kValidation, "unknown model `" + *name + "`; served: " + known);
}

int64_t ServerState::queue_depth() const {
  int64_t n = 0;
  for (const ServedModel& m : models) n += static_cast<int64_t>(m.scheduler->queue_depth());
  return n;
}

}  // namespace mbert::serve
