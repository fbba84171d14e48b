// What `mbert serve` is configured with: the models to serve and the server's limits. Filled by
// the CLI (tools/mbert/cmd_serve.cpp) or directly by tests and embedders of the server.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mbert/types.h"

namespace mbert::serve {

// One served model: `name` is what requests select it by (the OpenAI `model` field); `source`
// is a model directory or a Hub name (org/name[@revision]), as mbert::Model::Load takes.
struct ModelSpec {
  std::string name;
  std::string source;
};

// "name=DIR" names a model explicitly; a bare directory is named after its last path component
// and a Hub name after itself.
ModelSpec ParseModelSpec(const std::string& arg);

struct ServeOptions {
  std::vector<ModelSpec> models;   // the first one answers requests that name no model
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (Server::port() tells which)
  int threads = 0;                 // OpenMP threads per model worker; 0: the runtime's default
  WeightDtype dtype = WeightDtype::kF32;
  int64_t max_batch_tokens = 16384;  // tokens per packed forward (one batch of jobs)
  int max_queue = 256;               // queued jobs per model before 429
  int64_t max_input_tokens = 0;      // per input; 0: the model's max_position_embeddings
  int64_t max_body_bytes = 2097152;  // request body limit (413 beyond)
  std::string api_key;               // empty: no authentication
  std::string cors_origin;           // empty: no CORS headers
  bool log_requests = true;          // one line per request on stderr
};

}  // namespace mbert::serve
