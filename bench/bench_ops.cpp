// Micro-benchmark of the non-attention ops (Google Benchmark) at ModernBERT-base shapes:
// N = 512 tokens, C = 768, I = 1152, H = 12, D = 64, V = 50368.
//
//   BM_Linear/<M>/<K>/<N>/<threads>     oneDNN matmul with pre-packed weights, GFLOP/s
//   BM_Gemm/<case>/<threads>            training GEMMs (dX = dY·W, dW += dYᵀ·X), GFLOP/s
//   BM_<Op>/<threads>                   element-wise ops, GB/s of compulsory traffic (each input
//                                       read once, each output written once)
// Threads come from the last argument (omp_set_num_threads), so 1- and 2-thread numbers share a
// run; compare ratios within a run, these machines are shared and noisy.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <random>
#include <vector>

#include "ops/cpu/cross_entropy.h"
#include "ops/cpu/embedding.h"
#include "ops/cpu/gelu.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/layer_norm.h"
#include "ops/cpu/rope.h"

namespace {

using namespace mbert::ops;

constexpr int64_t kN = 512, kC = 768, kI = 1152, kV = 50368;
constexpr int kH = 12, kD = 64;

std::vector<float> Random(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

void SetThreads(benchmark::State& state, int arg) {
  omp_set_num_threads(static_cast<int>(state.range(arg)));
}

void Flops(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iter * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
}

void Bytes(benchmark::State& state, double bytes_per_iter) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iter * state.iterations()));
}

void BM_Linear(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  SetThreads(state, 3);
  const std::vector<float> W = Random(N * K, 1, 0.02f), x = Random(M * K, 2);
  std::vector<float> y(M * N);
  Linear lin(W.data(), N, K, nullptr);
  lin.Forward(x.data(), M, y.data());  // primitive creation outside the timing
  for (auto _ : state) {
    lin.Forward(x.data(), M, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  Flops(state, 2.0 * M * N * K);
  state.SetLabel(lin.ImplName(M));
}
// Wqkv (C -> 3C), Wo (C -> C), Wi (C -> 2I), mlp Wo (I -> C), the MLM decoder (C -> V).
BENCHMARK(BM_Linear)
    ->ArgsProduct({{kN}, {kC}, {3 * kC, kC, 2 * kI}, {1, 2}})
    ->Args({kN, kI, kC, 1})
    ->Args({kN, kI, kC, 2})
    ->Args({128, kC, 3 * kC, 1})  // single-request latency: small M, one thread
    ->Args({128, kI, kC, 1})
    ->Args({77, kC, kV, 1})
    ->Args({77, kC, kV, 2})
    ->UseRealTime();

// 0: dX (N, C) = dY (N, 3C) · Wqkv (3C, C); 1: dWqkv (3C, C) += dYᵀ (3C, N) · X (N, C).
void BM_Gemm(benchmark::State& state) {
  SetThreads(state, 1);
  const bool dw = state.range(0) == 1;
  const int64_t O = 3 * kC;
  const std::vector<float> dy = Random(kN * O, 3), W = Random(O * kC, 4), x = Random(kN * kC, 5);
  std::vector<float> out(dw ? O * kC : kN * kC);
  for (auto _ : state) {
    if (dw) {
      Gemm(true, false, O, kC, kN, 1.0f, dy.data(), O, x.data(), kC, 1.0f, out.data(), kC);
    } else {
      Gemm(false, false, kN, kC, O, 1.0f, dy.data(), O, W.data(), kC, 0.0f, out.data(), kC);
    }
    benchmark::DoNotOptimize(out.data());
  }
  Flops(state, 2.0 * kN * kC * O);
  state.SetLabel(dw ? "dW += dY^T X" : "dX = dY W");
}
BENCHMARK(BM_Gemm)->ArgsProduct({{0, 1}, {1, 2}})->UseRealTime();

void BM_LayerNorm(benchmark::State& state) {
  SetThreads(state, 0);
  const std::vector<float> x = Random(kN * kC, 6), w = Random(kC, 7);
  std::vector<float> y(kN * kC), mean(kN), rstd(kN);
  for (auto _ : state) {
    LayerNormForward(x.data(), kC, w.data(), y.data(), kC, kN, kC, 1e-5f, mean.data(), rstd.data());
    benchmark::DoNotOptimize(y.data());
  }
  Bytes(state, 2.0 * kN * kC * 4);
}
BENCHMARK(BM_LayerNorm)->Arg(1)->Arg(2)->UseRealTime();

void BM_AddLayerNorm(benchmark::State& state) {
  SetThreads(state, 0);
  std::vector<float> x = Random(kN * kC, 6);
  const std::vector<float> d = Random(kN * kC, 8, 1e-6f), w = Random(kC, 7);
  std::vector<float> y(kN * kC), mean(kN), rstd(kN);
  for (auto _ : state) {
    AddLayerNormForward(x.data(), d.data(), w.data(), y.data(), kN, kC, 1e-5f, mean.data(),
                        rstd.data());
    benchmark::DoNotOptimize(y.data());
  }
  Bytes(state, 4.0 * kN * kC * 4);  // read x, delta; write x, y
}
BENCHMARK(BM_AddLayerNorm)->Arg(1)->Arg(2)->UseRealTime();

void BM_LayerNormBackward(benchmark::State& state) {
  SetThreads(state, 0);
  const std::vector<float> x = Random(kN * kC, 6), w = Random(kC, 7), dy = Random(kN * kC, 9);
  std::vector<float> y(kN * kC), mean(kN), rstd(kN), dx(kN * kC), dw(kC);
  LayerNormForward(x.data(), kC, w.data(), y.data(), kC, kN, kC, 1e-5f, mean.data(), rstd.data());
  for (auto _ : state) {
    LayerNormBackward(x.data(), kC, w.data(), mean.data(), rstd.data(), dy.data(), kC, dx.data(),
                      kC, dw.data(), kN, kC);
    benchmark::DoNotOptimize(dx.data());
  }
  Bytes(state, 3.0 * kN * kC * 4);  // read x, dy; write dx
}
BENCHMARK(BM_LayerNormBackward)->Arg(1)->Arg(2)->UseRealTime();

void BM_Rope(benchmark::State& state) {
  SetThreads(state, 0);
  std::vector<float> qkv = Random(kN * 3 * kC, 10);
  std::vector<int32_t> pos(kN);
  for (int64_t n = 0; n < kN; ++n) pos[n] = static_cast<int32_t>(n);
  RopeTable table(160000.0, kD, kN);
  for (auto _ : state) {
    RopeForward(qkv.data(), 3 * kC, pos.data(), kN, kH, kD, table);
    benchmark::DoNotOptimize(qkv.data());
  }
  Bytes(state, 2.0 * kN * 2 * kC * 4);  // q and k read and written
}
BENCHMARK(BM_Rope)->Arg(1)->Arg(2)->UseRealTime();

void BM_Gelu(benchmark::State& state) {
  SetThreads(state, 0);
  const std::vector<float> x = Random(kN * kC, 11);
  std::vector<float> y(kN * kC);
  for (auto _ : state) {
    GeluForward(x.data(), y.data(), kN * kC);
    benchmark::DoNotOptimize(y.data());
  }
  Bytes(state, 2.0 * kN * kC * 4);
}
BENCHMARK(BM_Gelu)->Arg(1)->Arg(2)->UseRealTime();

void BM_Geglu(benchmark::State& state) {
  SetThreads(state, 0);
  const std::vector<float> u = Random(kN * 2 * kI, 12);
  std::vector<float> y(kN * kI);
  for (auto _ : state) {
    GegluForward(u.data(), y.data(), kN, kI);
    benchmark::DoNotOptimize(y.data());
  }
  Bytes(state, 3.0 * kN * kI * 4);
}
BENCHMARK(BM_Geglu)->Arg(1)->Arg(2)->UseRealTime();

void BM_GegluBackward(benchmark::State& state) {
  SetThreads(state, 0);
  const std::vector<float> u = Random(kN * 2 * kI, 12), dy = Random(kN * kI, 13);
  std::vector<float> du(kN * 2 * kI);
  for (auto _ : state) {
    GegluBackward(u.data(), dy.data(), du.data(), kN, kI);
    benchmark::DoNotOptimize(du.data());
  }
  Bytes(state, 5.0 * kN * kI * 4);  // read u (2I), dy (I); write du (2I)
}
BENCHMARK(BM_GegluBackward)->Arg(1)->Arg(2)->UseRealTime();

void BM_Embedding(benchmark::State& state) {
  SetThreads(state, 0);
  const std::vector<float> table = Random(kV * kC, 14);
  std::vector<int32_t> ids(kN);
  std::mt19937 rng(15);
  for (int32_t& id : ids) id = static_cast<int32_t>(rng() % kV);
  std::vector<float> out(kN * kC);
  for (auto _ : state) {
    EmbeddingForward(table.data(), kC, ids.data(), kN, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  Bytes(state, 2.0 * kN * kC * 4);
}
BENCHMARK(BM_Embedding)->Arg(1)->Arg(2)->UseRealTime();

// MLM loss on the ~15% masked rows of a 512-token batch (sparse prediction), with gradient.
void BM_CrossEntropy(benchmark::State& state) {
  SetThreads(state, 0);
  const int64_t rows = 77;
  const std::vector<float> logits = Random(rows * kV, 16, 3.0f);
  std::vector<int32_t> labels(rows);
  for (int64_t r = 0; r < rows; ++r) labels[r] = static_cast<int32_t>((r * 7919) % kV);
  std::vector<float> d(rows * kV);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        CrossEntropyForwardBackward(logits.data(), kV, labels.data(), rows, kV, d.data(), kV));
  }
  Bytes(state, 2.0 * rows * kV * 4);
}
BENCHMARK(BM_CrossEntropy)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
