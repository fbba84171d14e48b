// serve_load: a bounded load generator for `mbert serve` (loopback only), beside the engine's
// own rate on the same texts. For each concurrency level, C client threads send POST /embed
// requests (one text each, texts drawn round-robin from a fixed set) until `--requests` have
// been answered or `--seconds` have passed, and it reports requests/s, tokens/s (tokens counted
// by the server's x-compute-tokens header), p50/p95/p99 latency and errors. With --engine-model it
// also runs mbert::Embed on the same texts in packed batches of --batch-tokens (no HTTP): the
// served/engine ratio is how much of the engine's rate the server delivers.
//
//   serve_load --port 8080 --texts short --concurrency 1,8,64 --requests 2000 --seconds 60
//              [--engine-model DIR] [--batch-tokens 16384] [--json OUT]
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"

namespace {

using Clock = std::chrono::steady_clock;

// Deterministic English-like texts: "short" 8-64 tokens, "long" ~512 tokens.
std::vector<std::string> MakeTexts(const std::string& kind, int n) {
  static const char* kWords[] = {"the",     "model",   "reads", "a",      "sentence",
                                 "and",     "returns", "one",   "vector", "for",
                                 "search",  "over",    "many",  "papers", "written",
                                 "between", "years",   "of",    "data",   "quickly"};
  std::mt19937 rng(1234);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const int words = kind == "long" ? 500 : 6 + static_cast<int>(rng() % 55);
    std::string t;
    for (int w = 0; w < words; ++w) {
      if (w) t += ' ';
      t += kWords[rng() % 20];
    }
    out.push_back(t);
  }
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

struct LevelResult {
  int concurrency = 0;
  int64_t ok = 0, errors = 0, tokens = 0;
  double seconds = 0.0;
  std::vector<double> latency_ms;
};

LevelResult RunLevel(const std::string& host, int port, const std::vector<std::string>& texts,
                     int concurrency, int64_t max_requests, double max_seconds) {
  LevelResult r;
  r.concurrency = concurrency;
  std::atomic<int64_t> issued{0}, ok{0}, errors{0}, tokens{0};
  std::mutex mu;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::milliseconds(static_cast<int64_t>(max_seconds * 1000));
  std::vector<std::thread> threads;
  for (int c = 0; c < concurrency; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client cli(host, port);
      cli.set_read_timeout(120, 0);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);  // no Nagle delay between the request's header and body writes
      std::vector<double> local;
      for (int64_t i = issued++; i < max_requests && Clock::now() < deadline; i = issued++) {
        const std::string body =
            nlohmann::json{{"inputs", texts[static_cast<size_t>(i) % texts.size()]}}.dump();
        const Clock::time_point t0 = Clock::now();
        auto res = cli.Post("/embed", body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (res && res->status == 200) {
          ++ok;
          tokens += std::atoll(res->get_header_value("x-compute-tokens").c_str());
          local.push_back(ms);
        } else {
          ++errors;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      r.latency_ms.insert(r.latency_ms.end(), local.begin(), local.end());
      (void)c;
    });
  }
  for (auto& t : threads) t.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.ok = ok;
  r.errors = errors;
  r.tokens = tokens;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"serve_load: bounded load test of mbert serve on loopback"};
  int port = 8080;
  std::string kind = "short", concurrency = "1,8,64", engine_model, json_out;
  int64_t requests = 2000, batch_tokens = 16384;
  double seconds = 60;
  int n_texts = 256;
  app.add_option("--port", port, "server port on 127.0.0.1");
  app.add_option("--texts", kind, "short (8-64 tokens) or long (~512 tokens)")
      ->check(CLI::IsMember({"short", "long"}));
  app.add_option("--n-texts", n_texts, "distinct texts");
  app.add_option("--concurrency", concurrency, "comma-separated client counts");
  app.add_option("--requests", requests, "requests per level (upper bound)");
  app.add_option("--seconds", seconds, "seconds per level (upper bound)");
  app.add_option("--engine-model", engine_model, "also time mbert::Embed on the same texts");
  app.add_option("--batch-tokens", batch_tokens, "engine batch budget (the server's)");
  app.add_option("--json", json_out, "write the results as JSON");
  CLI11_PARSE(app, argc, argv);

  const std::vector<std::string> texts = MakeTexts(kind, n_texts);
  nlohmann::json report = {{"texts", kind}, {"n_texts", n_texts}};
  if (!engine_model.empty()) {
    auto model = mbert::Model::Load(engine_model);
    if (!model.ok()) {
      std::fprintf(stderr, "error: %s\n", model.status().message().c_str());
      return 1;
    }
    mbert::ContextOptions o;
    o.batch_tokens = batch_tokens;
    mbert::Context ctx(model.value(), o);
    std::vector<mbert::Input> in;
    for (const auto& t : texts) in.push_back(mbert::Input::Text(t));
    auto enc = mbert::Tokenize(ctx, in);
    int64_t tok = 0;
    for (const auto& e : enc.value()) tok += static_cast<int64_t>(e.ids.size());
    (void)mbert::Embed(ctx, in);  // warm-up
    std::vector<double> rates;
    for (int rep = 0; rep < 3; ++rep) {
      const Clock::time_point t0 = Clock::now();
      auto e = mbert::Embed(ctx, in);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      if (!e.ok()) return 1;
      rates.push_back(static_cast<double>(tok) / s);
    }
    std::sort(rates.begin(), rates.end());
    std::printf("engine (mbert::Embed, no HTTP): %.1f tokens/s (median of 3; %lld tokens)\n",
                rates[1], static_cast<long long>(tok));
    report["engine_tokens_per_s"] = rates[1];
  }
  std::printf("%-6s %8s %7s %10s %9s %9s %9s %9s\n", "conc", "ok", "errors", "tokens/s", "req/s",
              "p50 ms", "p95 ms", "p99 ms");
  std::stringstream levels(concurrency);
  for (std::string item; std::getline(levels, item, ',');) {
    const int c = std::max(1, std::atoi(item.c_str()));
    LevelResult r = RunLevel("127.0.0.1", port, texts, c, requests, seconds);
    const double tps = static_cast<double>(r.tokens) / r.seconds;
    const double rps = static_cast<double>(r.ok) / r.seconds;
    const double p50 = Percentile(r.latency_ms, 0.50), p95 = Percentile(r.latency_ms, 0.95),
                 p99 = Percentile(r.latency_ms, 0.99);
    std::printf("%-6d %8lld %7lld %10.1f %9.1f %9.1f %9.1f %9.1f\n", c,
                static_cast<long long>(r.ok), static_cast<long long>(r.errors), tps, rps, p50, p95,
                p99);
    std::fflush(stdout);
    report["levels"].push_back({{"concurrency", c},
                                {"ok", r.ok},
                                {"errors", r.errors},
                                {"seconds", r.seconds},
                                {"tokens_per_s", tps},
                                {"requests_per_s", rps},
                                {"p50_ms", p50},
                                {"p95_ms", p95},
                                {"p99_ms", p99}});
  }
  if (!json_out.empty()) std::ofstream(json_out) << report.dump(2) << "\n";
  return 0;
}
