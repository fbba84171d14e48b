// Service routes: OpenAI's GET /v1/models, TEI's GET /info and GET /health, and Prometheus'
// GET /metrics.
#include "serve/api_error.h"
#include "serve/routes.h"

#ifndef MBERT_VERSION_STRING
#define MBERT_VERSION_STRING "0.0.0"
#endif

namespace mbert::serve {

namespace {

const char* TaskName(ModelTask t) {
  switch (t) {
    case ModelTask::kFillMask:
      return "fill-mask";
    case ModelTask::kSequenceClassification:
      return "sequence-classification";
    case ModelTask::kTokenClassification:
      return "token-classification";
    case ModelTask::kEncoder:
      break;
  }
  return "embedding";
}

// TEI's model_type: a classifier with its labels, or an embedding model with its pooling.
Json ModelType(const ModelInfo& info) {
  if (info.task == ModelTask::kSequenceClassification) {
    Json id2label = Json::object(), label2id = Json::object();
    for (size_t i = 0; i < info.labels.size(); ++i) {
      id2label[std::to_string(i)] = info.labels[i];
      label2id[info.labels[i]] = i;
    }
    return {{"classifier", {{"id2label", id2label}, {"label2id", label2id}}}};
  }
  return {{"embedding", {{"pooling", EmbedPoolingName(info.embedding_pooling)}}}};
}

Json ModelEntry(const ServedModel& m) {
  const ModelInfo& info = m.model->info();
  return {{"id", m.name},
          {"architecture", info.architecture},
          {"task", TaskName(info.task)},
          {"model_type", ModelType(info)},
          {"max_input_length", m.max_input_tokens},
          {"embedding_dim", info.embedding_dim},
          {"hidden_size", info.hidden_size},
          {"vocab_size", info.vocab_size},
          {"has_tokenizer", info.has_tokenizer}};
}

}  // namespace

Reply Models(ServerState& s, const std::string&) {
  Json data = Json::array();
  for (const ServedModel& m : s.models)
    data.push_back({{"id", m.name}, {"object", "model"}, {"owned_by", "mbert"}, {"created", 0}});
  Reply reply;
  reply.body =
      Json{{"object", "list"}, {"data", data}}.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

Reply Info(ServerState& s, const std::string&) {
  const ServedModel& m = s.models.front();
  const ModelInfo& info = m.model->info();
  Json models = Json::array();
  for (const ServedModel& sm : s.models) models.push_back(ModelEntry(sm));
  const Json j = {
      {"model_id", m.name},
      {"model_sha", nullptr},
      {"model_dtype", info.dtype == WeightDtype::kBF16 ? "bfloat16" : "float32"},
      {"model_type", ModelType(info)},
      {"max_concurrent_requests", s.options.max_queue},
      {"max_input_length", m.max_input_tokens},
      {"max_batch_tokens", s.options.max_batch_tokens},
      {"max_batch_requests", nullptr},
      {"max_client_batch_size", kMaxInputsPerRequest},
      {"tokenization_workers", nullptr},
      {"version", MBERT_VERSION_STRING},
      {"models", models},
  };
  Reply reply;
  reply.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

Reply Health(ServerState& s, const std::string&) {
  // Models load before the server listens, so a listening server is ready until it drains.
  if (s.draining) throw ApiError(503, kUnhealthy, "unhealthy");
  Reply reply;
  reply.content_type = "text/plain";
  return reply;
}

Reply MetricsText(ServerState& s, const std::string&) {
  Reply reply;
  reply.content_type = "text/plain; version=0.0.4";
  reply.body = s.metrics.Render(s.queue_depth());
  return reply;
}

}  // namespace mbert::serve
