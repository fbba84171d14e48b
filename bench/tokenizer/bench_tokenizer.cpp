// Tokenizer benchmark (not a test): load time of tokenizer.json, single-thread encode throughput
// and EncodeBatch scaling over threads, on texts given as one NUL-separated file (written by
// bench/tokenizer/run.py so that HF tokenizers encodes exactly the same texts).
// Usage: bench_tokenizer TOKENIZER_JSON TEXTS_FILE [REPS] [MAX_THREADS]; prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "mbert/tokenizer.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_JSON TEXTS_FILE [REPS] [MAX_THREADS]\n", argv[0]);
    return 2;
  }
  const int reps = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
  const int max_threads = argc > 4
                              ? std::max(1, std::atoi(argv[4]))
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::ifstream f(argv[2], std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "error: %s: cannot open\n", argv[2]);
    return 1;
  }
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string_view> texts;
  for (size_t i = 0; i <= all.size();) {
    size_t j = all.find('\0', i);
    if (j == std::string::npos) j = all.size();
    if (j > i) texts.emplace_back(all.data() + i, j - i);
    i = j + 1;
  }
  double load_best = 1e9;
  mbert::Result<mbert::Tokenizer> tok = mbert::Status::Error("not loaded");
  for (int r = 0; r < 5; ++r) {
    const double t0 = Now();
    tok = mbert::Tokenizer::FromFile(argv[1]);
    load_best = std::min(load_best, Now() - t0);
    if (!tok.ok()) {
      std::fprintf(stderr, "error: %s\n", tok.status().message().c_str());
      return 1;
    }
  }
  size_t bytes = 0;
  for (auto t : texts) bytes += t.size();
  // Single thread, one Encode call per text (HF: encode_batch with parallelism off).
  double best = 1e9;
  size_t tokens = 0;
  for (int r = 0; r < reps; ++r) {
    tokens = 0;
    const double t0 = Now();
    for (auto t : texts) {
      auto e = tok->Encode(t);
      if (!e.ok()) {
        std::fprintf(stderr, "error: %s\n", e.status().message().c_str());
        return 1;
      }
      tokens += e->size();
    }
    best = std::min(best, Now() - t0);
  }
  std::printf(
      "{\"texts\": %zu, \"bytes\": %zu, \"tokens\": %zu, \"load_ms\": %.2f, "
      "\"single_thread_mb_s\": %.3f",
      texts.size(), bytes, tokens, load_best * 1e3, bytes / best / 1e6);
  std::vector<mbert::TextPair> in(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) in[i].text = texts[i];
  // Wall-clock MB/s per thread count, and MB per CPU-second (process CPU time over all threads):
  // on a machine shared with other work the wall number cannot scale, but a flat MB/CPU-s shows
  // the threads do not slow each other down.
  std::string wall, cpu;
  for (int th = 1; th <= max_threads; th *= 2) {
    double b = 1e9, c = 1e9;
    for (int r = 0; r < reps; ++r) {
      const double t0 = Now();
      const std::clock_t c0 = std::clock();
      auto out = tok->EncodeBatch(in, {}, th);
      b = std::min(b, Now() - t0);
      c = std::min(c, static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s\"%d\": %.3f", th == 1 ? "" : ", ", th, bytes / b / 1e6);
    wall += buf;
    std::snprintf(buf, sizeof(buf), "%s\"%d\": %.3f", th == 1 ? "" : ", ", th, bytes / c / 1e6);
    cpu += buf;
  }
  std::printf(", \"batch_mb_s\": {%s}, \"batch_mb_per_cpu_s\": {%s}}\n", wall.c_str(), cpu.c_str());
  return 0;
}
