// Attention micro-benchmark (Google Benchmark): ModernBERT-base shapes, H = 12, D = 64, W = 64.
//
//   BM_AttentionForward/<window>/<S>   time per token (ns_per_token) and GFLOP/s of the computed
//   BM_AttentionBackward/<window>/<S>  scores (useful work, band only for local layers).
//   BM_LocalCostRatio                  ns/token of local attention at S = 8192 over S = 512 in the
//                                      same process; must stay < 1.5 (band cost independent of S).
//   BM_FmaPeak                         fp32 FMA peak of the same threads, to read GFLOPs against.
// Each run packs 8192 tokens: 8192 / S sequences of length S. Threads: OMP_NUM_THREADS. The CPU
// column is process CPU time over all threads; real time / CPU time > 1 / threads means the machine
// was shared during the run.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <random>
#include <vector>

#include "ops/cpu/attention.h"
#include "ops/cpu/attention_simd.h"

namespace {

constexpr int kHeads = 12, kHeadDim = 64, kTokens = 8192;
constexpr int64_t kC = static_cast<int64_t>(kHeads) * kHeadDim;

struct Setup {
  explicit Setup(int seq_len) {
    const int num = std::max(1, kTokens / seq_len);
    cu.push_back(0);
    for (int b = 0; b < num; ++b) cu.push_back(cu.back() + seq_len);
    n = cu.back();
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    qkv.resize(static_cast<size_t>(n * 3 * kC));
    for (float& x : qkv) x = nd(rng);
    dout.resize(static_cast<size_t>(n * kC));
    for (float& x : dout) x = nd(rng);
    out.resize(dout.size());
    lse.resize(static_cast<size_t>(n * kHeads));
    dqkv.resize(qkv.size());
  }
  int num_seqs() const { return static_cast<int>(cu.size()) - 1; }
  void Forward(int window) {
    mbert::ops::AttentionForward(qkv.data(), qkv.data() + kC, qkv.data() + 2 * kC, 3 * kC,
                                 out.data(), kC, lse.data(), cu.data(), num_seqs(), kHeads,
                                 kHeadDim, window, 0.125f);
  }
  void Backward(int window) {
    mbert::ops::AttentionBackward(qkv.data(), qkv.data() + kC, qkv.data() + 2 * kC, 3 * kC,
                                  out.data(), dout.data(), kC, lse.data(), dqkv.data(),
                                  dqkv.data() + kC, dqkv.data() + 2 * kC, 3 * kC, cu.data(),
                                  num_seqs(), kHeads, kHeadDim, window, 0.125f);
  }
  // Useful FLOPs of one forward: 2 GEMM-like products (QK^T and PV), 2 flops per multiply-add,
  // over the (query, key) pairs actually allowed.
  double ForwardFlops(int window) const {
    double pairs = 0;
    for (int b = 0; b < num_seqs(); ++b) {
      const int64_t len = cu[b + 1] - cu[b];
      for (int64_t i = 0; i < len; ++i) {
        const int64_t lo = window < 0 ? 0 : std::max<int64_t>(0, i - window);
        const int64_t hi = window < 0 ? len : std::min<int64_t>(len, i + window + 1);
        pairs += static_cast<double>(hi - lo);
      }
    }
    return pairs * kHeads * kHeadDim * 4.0;
  }
  std::vector<int32_t> cu;
  int64_t n = 0;
  std::vector<float> qkv, dout, out, lse, dqkv;
};

void Report(benchmark::State& state, const Setup& s, double flops_per_call) {
  const double calls = static_cast<double>(state.iterations());
  state.counters["ns_per_token"] =
      benchmark::Counter(calls * static_cast<double>(s.n) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["GFLOPs"] =
      benchmark::Counter(calls * flops_per_call * 1e-9, benchmark::Counter::kIsRate);
  state.counters["threads"] = omp_get_max_threads();
}

void BM_AttentionForward(benchmark::State& state) {
  const int window = static_cast<int>(state.range(0));
  Setup s(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    s.Forward(window);
    benchmark::DoNotOptimize(s.out.data());
  }
  Report(state, s, s.ForwardFlops(window));
}

void BM_AttentionBackward(benchmark::State& state) {
  const int window = static_cast<int>(state.range(0));
  Setup s(static_cast<int>(state.range(1)));
  s.Forward(window);
  for (auto _ : state) {
    s.Backward(window);
    benchmark::DoNotOptimize(s.dqkv.data());
  }
  // Backward: 5 products (S, dP, dV, dK, dQ) = 2.5x the forward's two.
  Report(state, s, 2.5 * s.ForwardFlops(window));
}

// Local attention time per token at S = 8192 divided by S = 512, both packing 8192 tokens, timed
// alternately in the same process so machine noise hits both alike. Reported on the wall clock and
// on process CPU time (all threads), which shared, oversubscribed machines distort less.
double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void BM_LocalCostRatio(benchmark::State& state) {
  Setup short_seqs(512), long_seq(8192);
  double wall_short = 0, wall_long = 0, cpu_short = 0, cpu_long = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = ProcessCpuSeconds();
    short_seqs.Forward(64);
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = ProcessCpuSeconds();
    long_seq.Forward(64);
    const auto t2 = std::chrono::steady_clock::now();
    const double c2 = ProcessCpuSeconds();
    wall_short +=
        std::chrono::duration<double>(t1 - t0).count() / static_cast<double>(short_seqs.n);
    wall_long += std::chrono::duration<double>(t2 - t1).count() / static_cast<double>(long_seq.n);
    cpu_short += (c1 - c0) / static_cast<double>(short_seqs.n);
    cpu_long += (c2 - c1) / static_cast<double>(long_seq.n);
  }
  state.counters["ratio_8192_over_512"] = wall_long / wall_short;
  state.counters["cpu_ratio_8192_over_512"] = cpu_long / cpu_short;
}

// The machine's fp32 FMA peak in this run: every OpenMP thread runs 12 independent chains of FMAs
// at the vector width the attention kernels use (attention_simd.h). The yardstick for GFLOPs above.
void BM_FmaPeak(benchmark::State& state) {
  namespace simd = mbert::ops::attn_simd;
  constexpr int kChains = 12, kSteps = 1 << 20;
  double flops = 0;
  for (auto _ : state) {
#pragma omp parallel
    {
      simd::V acc[kChains];
      for (int c = 0; c < kChains; ++c) acc[c] = simd::Set1(1.0f + 1e-3f * static_cast<float>(c));
      const simd::V a = simd::Set1(0.999999f), b = simd::Set1(1e-7f);
      for (int s = 0; s < kSteps; ++s)
        for (int c = 0; c < kChains; ++c) acc[c] = simd::Fma(acc[c], a, b);
      alignas(64) float out[simd::kLanes];
      simd::V sum = acc[0];
      for (int c = 1; c < kChains; ++c) sum = simd::Add(sum, acc[c]);
      simd::Store(out, sum);
      benchmark::DoNotOptimize(out[0]);
    }
    flops += 2.0 * kChains * simd::kLanes * kSteps * omp_get_max_threads();
  }
  state.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.counters["threads"] = omp_get_max_threads();
}

}  // namespace

BENCHMARK(BM_FmaPeak)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_AttentionForward)
    ->ArgNames({"window", "S"})
    ->Args({64, 512})
    ->Args({64, 8192})
    ->Args({-1, 512})
    ->Args({-1, 8192})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(BM_AttentionBackward)
    ->ArgNames({"window", "S"})
    ->Args({64, 512})
    ->Args({64, 8192})
    ->Args({-1, 512})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(BM_LocalCostRatio)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Iterations(10);

BENCHMARK_MAIN();
