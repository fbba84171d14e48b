// serve_load: a bounded load generator for an embedding server on loopback (mbert serve, or a
// peer such as Infinity or bench/peers/serve_peer.py), beside the engine's own rate on the same
// texts. For each concurrency level, C client threads send one text per request until
// `--requests` have been answered or `--seconds` have passed (closed loop), or at a fixed total
// rate with `--rate` (open loop, for the soak), and it reports requests/s, tokens/s, p50/p95/p99
// latency and errors.
//   --route tei     POST /embed {"inputs": text}            (mbert serve, TEI, serve_peer.py)
//   --route openai  POST /v1/embeddings {"input": text, "model": M}  (mbert serve, Infinity)
// Tokens are counted with the model's tokenizer when --engine-model is given (identical to HF
// tokenizers, so every server is credited the same tokens), else from mbert's x-compute-tokens
// header. With --engine-model it also runs mbert::Embed on the same texts (no HTTP): packed
// batches of --batch-tokens (the engine's rate: served/engine is how much of it the server
// delivers) and each text alone (one forward per text: what a request at concurrency 1 costs
// the engine). With --rss-pid it samples that process's RSS every --rss-every seconds.
//
//   serve_load --port 8080 --texts short --concurrency 1,8,64 --requests 2000 --seconds 60
//              [--route tei|openai] [--path P] [--model-name M] [--engine-model DIR]
//              [--batch-tokens 16384] [--single-texts 64] [--rate R] [--rss-pid PID]
//              [--rss-every S] [--json OUT]
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Deterministic English-like texts: "short" 8-64 tokens, "long" ~512 tokens, "mixed" one long in
// ten.
std::vector<std::string> MakeTexts(const std::string& kind, int n) {
  static const char* kWords[] = {"the",     "model",   "reads", "a",      "sentence",
                                 "and",     "returns", "one",   "vector", "for",
                                 "search",  "over",    "many",  "papers", "written",
                                 "between", "years",   "of",    "data",   "quickly"};
  std::mt19937 rng(1234);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const bool long_text = kind == "long" || (kind == "mixed" && i % 10 == 9);
    const int words = long_text ? 510 : 6 + static_cast<int>(rng() % 55);
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

// Resident set size of a process in MB (VmRSS, or VmHWM for the peak), 0 if unreadable.
double ProcessMb(int pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::strlen(field)) / 1024.0;
  return 0.0;
}

struct Target {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string route = "tei", path, model_name;
  // The request body for one text.
  std::string Body(const std::string& text) const {
    if (route == "openai") return nlohmann::json{{"input", text}, {"model", model_name}}.dump();
    return nlohmann::json{{"inputs", text}}.dump();
  }
};

struct LevelResult {
  int concurrency = 0;
  int64_t ok = 0, errors = 0, tokens = 0;
  double seconds = 0.0;
  std::vector<double> latency_ms;
  std::string first_error;
  std::vector<std::pair<double, double>> rss;  // (seconds since start, MB)
};

// One level. `text_tokens` (may be empty) gives each text's token count; else the server's
// x-compute-tokens header counts. rate > 0: request i is sent no earlier than start + i / rate.
LevelResult RunLevel(const Target& target, const std::vector<std::string>& texts,
                     const std::vector<int64_t>& text_tokens, int concurrency, int64_t max_requests,
                     double max_seconds, double rate, int rss_pid, double rss_every) {
  LevelResult r;
  r.concurrency = concurrency;
  std::atomic<int64_t> issued{0}, ok{0}, errors{0}, tokens{0};
  std::atomic<bool> done{false};
  std::mutex mu;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::milliseconds(static_cast<int64_t>(max_seconds * 1000));
  std::thread sampler;
  if (rss_pid > 0) {
    sampler = std::thread([&] {
      while (!done) {
        const double mb = ProcessMb(rss_pid, "VmRSS:");
        {
          std::lock_guard<std::mutex> lock(mu);
          r.rss.emplace_back(SecondsSince(start), mb);
        }
        for (double waited = 0; waited < rss_every && !done; waited += 0.1)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  std::vector<std::thread> threads;
  for (int c = 0; c < concurrency; ++c) {
    threads.emplace_back([&] {
      httplib::Client cli(target.host, target.port);
      cli.set_read_timeout(300, 0);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);  // no Nagle delay between the request's header and body writes
      std::vector<double> local;
      for (int64_t i = issued++; i < max_requests && Clock::now() < deadline; i = issued++) {
        if (rate > 0) {
          std::this_thread::sleep_until(
              start + std::chrono::microseconds(static_cast<int64_t>(1e6 * i / rate)));
          if (Clock::now() >= deadline) break;
        }
        const size_t t = static_cast<size_t>(i) % texts.size();
        const std::string body = target.Body(texts[t]);
        const Clock::time_point t0 = Clock::now();
        auto res = cli.Post(target.path, body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (res && res->status == 200) {
          ++ok;
          tokens += text_tokens.empty()
                        ? std::atoll(res->get_header_value("x-compute-tokens").c_str())
                        : text_tokens[t];
          local.push_back(ms);
        } else {
          ++errors;
          std::lock_guard<std::mutex> lock(mu);
          if (r.first_error.empty())
            r.first_error = res ? std::to_string(res->status) + " " + res->body.substr(0, 200)
                                : "no response: " + httplib::to_string(res.error());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      r.latency_ms.insert(r.latency_ms.end(), local.begin(), local.end());
    });
  }
  for (auto& t : threads) t.join();
  r.seconds = SecondsSince(start);
  done = true;
  if (sampler.joinable()) sampler.join();
  r.ok = ok;
  r.errors = errors;
  r.tokens = tokens;
  return r;
}

struct EngineResult {
  double tokens_per_s = 0.0;         // packed batches of batch_tokens, median of the repeats
  double single_p50_ms = 0.0;        // each text alone (one forward), p50
  std::vector<int64_t> text_tokens;  // per text
};

// repeats 0: only the token counts (a peer's run).
EngineResult RunEngine(const std::string& dir, const std::vector<std::string>& texts,
                       int64_t batch_tokens, int single_texts, int repeats) {
  EngineResult out;
  auto model = mbert::Model::Load(dir);
  if (!model.ok()) throw std::runtime_error(model.status().message());
  mbert::ContextOptions o;
  o.batch_tokens = batch_tokens;
  mbert::Context ctx(model.value(), o);
  std::vector<mbert::Input> in;
  for (const auto& t : texts) in.push_back(mbert::Input::Text(t));
  auto enc = mbert::Tokenize(ctx, in);
  if (!enc.ok()) throw std::runtime_error(enc.status().message());
  int64_t total = 0;
  for (const auto& e : enc.value()) {
    out.text_tokens.push_back(static_cast<int64_t>(e.ids.size()));
    total += out.text_tokens.back();
  }
  if (repeats <= 0) return out;
  (void)mbert::Embed(ctx, in);  // warm-up
  std::vector<double> rates;
  for (int rep = 0; rep < repeats; ++rep) {
    const Clock::time_point t0 = Clock::now();
    auto e = mbert::Embed(ctx, in);
    if (!e.ok()) throw std::runtime_error(e.status().message());
    rates.push_back(static_cast<double>(total) / SecondsSince(t0));
  }
  std::sort(rates.begin(), rates.end());
  out.tokens_per_s = rates[rates.size() / 2];
  std::vector<double> single;
  for (int i = 0; i < single_texts && i < static_cast<int>(in.size()); ++i) {
    const std::vector<mbert::Input> one = {in[static_cast<size_t>(i)]};
    const Clock::time_point t0 = Clock::now();
    auto e = mbert::Embed(ctx, one);
    if (!e.ok()) throw std::runtime_error(e.status().message());
    single.push_back(1e3 * SecondsSince(t0));
  }
  out.single_p50_ms = Percentile(single, 0.5);
  std::printf(
      "engine (mbert::Embed, no HTTP): %.1f tokens/s in batches of <= %lld tokens (median of %d; "
      "%lld tokens); one text alone: p50 %.1f ms over the first %zu texts\n",
      out.tokens_per_s, static_cast<long long>(batch_tokens), repeats,
      static_cast<long long>(total), out.single_p50_ms, single.size());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"serve_load: bounded load test of an embedding server on loopback"};
  Target target;
  std::string kind = "short", concurrency = "1,8,64", engine_model, json_out;
  int64_t requests = 2000, batch_tokens = 16384;
  double seconds = 60, rate = 0, rss_every = 10, rss_warmup = 60;
  int n_texts = 256, single_texts = 64, rss_pid = 0, engine_repeats = 3;
  app.add_option("--port", target.port, "server port on 127.0.0.1");
  app.add_option("--route", target.route, "tei (POST {\"inputs\"}) or openai (POST {\"input\"})")
      ->check(CLI::IsMember({"tei", "openai"}));
  app.add_option("--path", target.path, "request path (default /embed or /v1/embeddings)");
  app.add_option("--model-name", target.model_name, "`model` field of OpenAI requests");
  app.add_option("--texts", kind, "short (8-64 tokens), long (~512 tokens) or mixed (1 in 10 long)")
      ->check(CLI::IsMember({"short", "long", "mixed"}));
  app.add_option("--n-texts", n_texts, "distinct texts")->check(CLI::Range(1, 1 << 20));
  app.add_option("--concurrency", concurrency, "comma-separated client counts");
  app.add_option("--requests", requests, "requests per level (upper bound)");
  app.add_option("--seconds", seconds, "seconds per level (upper bound)");
  app.add_option("--rate", rate, "total requests/s (open loop; 0: each client back to back)");
  app.add_option("--engine-model", engine_model, "also time mbert::Embed on the same texts");
  app.add_option("--batch-tokens", batch_tokens, "engine batch budget (the server's)");
  app.add_option("--single-texts", single_texts, "texts timed alone by the engine");
  app.add_option("--engine-repeats", engine_repeats,
                 "engine passes over the texts (median; 0: only count their tokens)");
  app.add_option("--rss-pid", rss_pid, "sample this process's RSS during each level");
  app.add_option("--rss-every", rss_every, "seconds between RSS samples");
  app.add_option("--rss-warmup", rss_warmup,
                 "RSS growth is measured from the first sample at or after this many seconds");
  app.add_option("--json", json_out, "write the results as JSON");
  CLI11_PARSE(app, argc, argv);
  if (target.path.empty()) target.path = target.route == "openai" ? "/v1/embeddings" : "/embed";

  const std::vector<std::string> texts = MakeTexts(kind, n_texts);
  nlohmann::json report = {
      {"texts", kind}, {"n_texts", n_texts}, {"route", target.route}, {"path", target.path}};
  EngineResult engine;
  if (!engine_model.empty()) {
    try {
      engine = RunEngine(engine_model, texts, batch_tokens, single_texts, engine_repeats);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: engine: %s\n", e.what());
      return 1;
    }
    if (engine.tokens_per_s > 0) report["engine_tokens_per_s"] = engine.tokens_per_s;
    report["engine_single_p50_ms"] = engine.single_p50_ms;
  }
  std::printf("%-6s %8s %7s %10s %9s %9s %9s %9s\n", "conc", "ok", "errors", "tokens/s", "req/s",
              "p50 ms", "p95 ms", "p99 ms");
  std::stringstream levels(concurrency);
  int failed = 0;
  for (std::string item; std::getline(levels, item, ',');) {
    const int c = std::max(1, std::atoi(item.c_str()));
    LevelResult r =
        RunLevel(target, texts, engine.text_tokens, c, requests, seconds, rate, rss_pid, rss_every);
    const double tps = static_cast<double>(r.tokens) / r.seconds;
    const double rps = static_cast<double>(r.ok) / r.seconds;
    const double p50 = Percentile(r.latency_ms, 0.50), p95 = Percentile(r.latency_ms, 0.95),
                 p99 = Percentile(r.latency_ms, 0.99);
    std::printf("%-6d %8lld %7lld %10.1f %9.1f %9.1f %9.1f %9.1f", c, static_cast<long long>(r.ok),
                static_cast<long long>(r.errors), tps, rps, p50, p95, p99);
    if (engine.tokens_per_s > 0)
      std::printf("   %.0f%% of the engine's tokens/s", 100.0 * tps / engine.tokens_per_s);
    if (c == 1 && engine.single_p50_ms > 0)
      std::printf(", p50 %.2fx one forward", p50 / engine.single_p50_ms);
    std::printf("\n");
    if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
    nlohmann::json level = {{"concurrency", c},     {"ok", r.ok},          {"errors", r.errors},
                            {"seconds", r.seconds}, {"tokens_per_s", tps}, {"requests_per_s", rps},
                            {"p50_ms", p50},        {"p95_ms", p95},       {"p99_ms", p99}};
    if (!r.rss.empty()) {
      for (const auto& [t, mb] : r.rss) level["rss_mb"].push_back({t, mb});
      std::printf("  server RSS (MB) every %.0f s:", rss_every);
      for (const auto& s : r.rss) std::printf(" %.0f", s.second);
      std::printf("\n");
      // Growth past warm-up: the first sample at or after rss_warmup against the largest after it.
      auto base = std::find_if(r.rss.begin(), r.rss.end(),
                               [&](const auto& s) { return s.first >= rss_warmup; });
      if (base != r.rss.end() && base->second > 0) {
        double peak = base->second;
        for (auto it = base; it != r.rss.end(); ++it) peak = std::max(peak, it->second);
        const double growth = 100.0 * (peak - base->second) / base->second;
        std::printf("  RSS growth after %.0f s: %.0f MB at %.0f s -> at most %.0f MB (%+.2f%%)\n",
                    rss_warmup, base->second, base->first, peak, growth);
        level["rss_growth_percent"] = growth;
      }
    }
    report["levels"].push_back(level);
    std::fflush(stdout);
    if (r.errors) failed = 1;
  }
  if (rss_pid > 0) {
    report["server_peak_rss_mb"] = ProcessMb(rss_pid, "VmHWM:");
    std::printf("server peak RSS %.0f MB\n", ProcessMb(rss_pid, "VmHWM:"));
  }
  if (!json_out.empty()) std::ofstream(json_out) << report.dump(2) << "\n";
  return failed;
}
