// mbert serve: an HTTP server with TEI- and OpenAI-compatible routes over one or more models,
// with dynamic batching (src/serve, docs/serving.md). Loads every model before it listens;
// SIGTERM / SIGINT drain in-flight requests and exit 0.
#include <omp.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "command.h"
#include "core/thread_limit.h"
#include "int_flags.h"
#include "serve/server.h"
#include "serve/signals.h"

namespace mbert::cli {

namespace {

struct Options {
  std::vector<std::string> models;
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  std::string dtype = "f32";
  int64_t max_batch_tokens = 16384;
  int max_queue = 256;
  int64_t max_input_tokens = 0;
  int64_t max_body_bytes = 2097152;
  std::string api_key;
  std::string api_key_file;
  std::string cors_origin;
};

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Error(path + ": cannot read the API key file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string key = ss.str();
  // Files usually end with a newline that is not part of the key.
  const size_t end = key.find_last_not_of(" \t\r\n");
  key = end == std::string::npos ? std::string() : key.substr(0, end + 1);
  const size_t begin = key.find_first_not_of(" \t\r\n");
  key = begin == std::string::npos ? std::string() : key.substr(begin);
  if (key.empty()) return Status::Error(path + ": the API key file is empty");
  return key;
}

int Run(const Options& o) {
  if (Status st = CheckThreadCount(o.threads, "serve --threads"); !st.ok())
    return (std::cerr << "error: " << st.message() << "\n", 1);
  serve::ServeOptions so;
  for (const std::string& m : o.models) so.models.push_back(serve::ParseModelSpec(m));
  if (so.models.empty()) so.models.push_back(serve::ParseModelSpec(MBERT_DEFAULT_MODEL_DIR));
  so.host = o.host;
  so.port = o.port;
  // Without --threads here, the root's --threads (already applied to this thread) carries over
  // to the workers, which OpenMP would otherwise give every core.
  so.threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  auto dtype = ParseWeightDtype(o.dtype);
  if (!dtype.ok()) return (std::cerr << "error: " << dtype.status().message() << "\n", 1);
  so.dtype = dtype.value();
  so.max_batch_tokens = o.max_batch_tokens;
  so.max_queue = o.max_queue;
  so.max_input_tokens = o.max_input_tokens;
  so.max_body_bytes = o.max_body_bytes;
  so.api_key = o.api_key;
  if (!o.api_key_file.empty()) {
    auto key = ReadKeyFile(o.api_key_file);
    if (!key.ok()) return (std::cerr << "error: " << key.status().message() << "\n", 1);
    so.api_key = key.value();
  }
  so.cors_origin = o.cors_origin;

  for (const auto& m : so.models)
    std::cerr << "[mbert serve] loading " << m.name << " from " << m.source << "\n";
  auto server = serve::Server::Create(so);
  if (!server.ok()) return (std::cerr << "error: " << server.status().message() << "\n", 1);
  Status st = server.value()->Bind();
  if (!st.ok()) return (std::cerr << "error: " << st.message() << "\n", 1);
  std::cerr << "[mbert serve] listening on http://" << so.host << ":" << server.value()->port()
            << (so.api_key.empty() ? "" : " (API key required)") << "\n";
  {
    serve::SignalWatcher watcher([s = server.value().get()] {
      std::cerr << "[mbert serve] shutting down: finishing in-flight requests\n";
      s->Shutdown();
    });
    st = server.value()->Run();
  }
  if (!st.ok()) return (std::cerr << "error: " << st.message() << "\n", 1);
  std::cerr << "[mbert serve] stopped\n";
  return 0;
}

}  // namespace

Subcommand AddServeCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app = root.add_subcommand("serve", "HTTP server: TEI and OpenAI embeddings API");
  app->add_option("-m,--model", o->models,
                  "model directory or Hub name, or name=DIR; repeat to serve several (default: "
                  "the built-in tiny test model)")
      ->allow_extra_args(false);
  app->add_option("--host", o->host, "address to bind (default 127.0.0.1: this machine only)");
  app->add_option("--port", o->port, "port (0: any free port)")->check(CLI::Range(0, 65535));
  app->add_option("--threads", o->threads, "OpenMP threads per model worker")->check(AtLeast(0));
  app->add_option("--dtype", o->dtype, "weight storage: f32 or bf16")
      ->check(CLI::IsMember({"f32", "bf16"}));
  app->add_option("--max-batch-tokens", o->max_batch_tokens, "tokens per batched forward")
      ->check(AtLeast(1));
  app->add_option("--max-queue", o->max_queue, "queued requests per model before 429")
      ->check(AtLeast(1));
  app->add_option("--max-input-tokens", o->max_input_tokens,
                  "tokens per input (default: the model's maximum)")
      ->check(AtLeast(1));
  app->add_option("--max-body-bytes", o->max_body_bytes, "request body limit (413 beyond)")
      ->check(AtLeast(1));
  auto* key = app->add_option("--api-key", o->api_key,
                              "require Authorization: Bearer KEY (visible in ps: prefer "
                              "--api-key-file)");
  app->add_option("--api-key-file", o->api_key_file, "read the API key from FILE")->excludes(key);
  app->add_option("--cors-origin", o->cors_origin,
                  "send Access-Control-Allow-Origin: ORIGIN and answer preflights");
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
