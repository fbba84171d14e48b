// Seconds per token of one ModernBERT-base-shaped encoder layer on a single sequence of S tokens,
// for a local (band, W = 64) and a global layer, at S = 512 and S = 8192. The local layer's cost
// per token must not grow with S (ratio 8192/512 close to 1); the global layer's does (its
// attention is O(S) per token). Random weights; median of several runs.
//   bench_layer [--threads T] [--reps R]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "model/encoder.h"
#include "model/weights.h"

namespace {

mbert::Encoder MakeOneLayerModel(bool global) {
  nlohmann::json j = {{"architectures", {"ModernBertModel"}},
                      {"hidden_size", 768},
                      {"intermediate_size", 1152},
                      {"num_attention_heads", 12},
                      {"num_hidden_layers", 1},
                      {"vocab_size", 1024},
                      {"pad_token_id", 0},
                      {"local_attention", 128},
                      {"layer_types", {global ? "full_attention" : "sliding_attention"}}};
  mbert::ModelConfig c = mbert::ModelConfig::FromJson(j, "bench").value();
  mbert::TensorTable t;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  for (const auto& p : mbert::ExpectedParams(c)) {
    mbert::Tensor x(p.shape);
    const bool norm = p.shape.size() == 1;
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = norm ? 1.0f : nd(rng);
    t.emplace(p.name, std::move(x));
  }
  return mbert::Encoder::FromParams(c, std::move(t)).value();
}

double SecondsPerToken(mbert::Encoder& m, int S, int reps) {
  std::vector<int32_t> ids(static_cast<size_t>(S));
  for (int i = 0; i < S; ++i) ids[i] = 1 + (i * 7919) % 1000;
  mbert::PackedBatch b = mbert::PackedBatch::FromSequences({ids});
  std::vector<float> h;
  mbert::ForwardContext ctx;
  (void)m.Forward(b, ctx, &h);  // warm-up: buffers, RoPE tables, oneDNN primitives
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)m.Forward(b, ctx, &h);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2] / S;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, reps = 5;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[++i]);
  }
  if (threads > 0) omp_set_num_threads(threads);
  std::printf("one ModernBERT-base layer (C=768, I=1152, H=12), threads=%d, median of %d\n",
              omp_get_max_threads(), reps);
  for (bool global : {false, true}) {
    mbert::Encoder m = MakeOneLayerModel(global);
    const double a = SecondsPerToken(m, 512, reps);
    const double b = SecondsPerToken(m, 8192, std::max(1, reps / 2));
    std::printf("%s layer: %.3e s/token at 512, %.3e s/token at 8192, ratio %.3f\n",
                global ? "global" : "local ", a, b, b / a);
  }
  return 0;
}
