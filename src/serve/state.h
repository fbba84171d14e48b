// What the routes share: the served models (each with its scheduler and input limit), the
// options, the metrics and the draining flag. Owned by Server; routes read it concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mbert/model.h"
#include "serve/json_requests.h"
#include "serve/metrics.h"
#include "serve/options.h"
#include "serve/scheduler.h"

namespace mbert::serve {

struct ServedModel {
  std::string name;
  std::shared_ptr<const Model> model;
  std::unique_ptr<Scheduler> scheduler;
  int64_t max_input_tokens = 0;  // the option, capped at the model's max_position_embeddings
};

struct ServerState {
  ServeOptions options;
  Metrics metrics;                    // before models: their workers record into it until joined
  std::vector<ServedModel> models;    // never empty
  std::atomic<bool> draining{false};  // shutdown began: inference routes answer 503

  // The model a request names in `model` (the first one when absent); unknown names are 422.
  const ServedModel& PickModel(const Json& body) const;
  int64_t queue_depth() const;
};

}  // namespace mbert::serve
