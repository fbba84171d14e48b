// mbert bench: the paper's four inference workloads (reference §6.2, scaled down for a small CPU)
// plus single-sequence latency, on ModernBERT-base or -large shapes with random weights. Prints
// tokens/s, % of the fp32 GEMM peak measured by this binary in the same run, and peak RSS; writes
// DIR/mbert.json, the exact inputs (DIR/inputs-<w>.safetensors) and a sample of outputs
// (DIR/outputs-<w>.safetensors) so bench/peers/peers.py can time PyTorch and ONNX Runtime on the
// same model (DIR/model) and check mbert's outputs against transformers'.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "batch/rng.h"
#include "command.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "model/encoder.h"
#include "model/weights.h"
#include "ops/cpu/gemm.h"
#include "runner.h"
#include "tasks/model_impl.h"
#include "tasks/run.h"
#include "train/init.h"

#ifndef MBERT_GIT_COMMIT
#define MBERT_GIT_COMMIT "unknown"
#endif

namespace mbert::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Options {
  std::string shape = "base";
  std::string out = "bench-out";
  std::vector<std::string> workloads = {"fixed512", "varshort", "fixed8192", "varlong",
                                        "latency128"};
  int repeats = 3;
  int64_t batch_tokens = 16384;
  double scale = 1.0;  // multiplies the number of sequences per workload
  bool profile = false;
  std::string dtype = "f32";  // weight storage of the benchmarked model (DIR/model stays fp32)
};

struct Workload {
  std::string name;
  std::vector<std::vector<int32_t>> seqs;
  bool single_thread = false;
};

double PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

std::string MachineName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

json ShapeConfig(const std::string& shape) {
  json j = {{"architectures", {"ModernBertModel"}},
            {"model_type", "modernbert"},
            {"vocab_size", 50368},
            {"pad_token_id", 50283},
            {"local_attention", 128},
            {"global_attn_every_n_layers", 3},
            {"global_rope_theta", 160000.0},
            {"local_rope_theta", 10000.0},
            {"max_position_embeddings", 8192}};
  if (shape == "large") {
    j.update({{"hidden_size", 1024},
              {"intermediate_size", 2624},
              {"num_hidden_layers", 28},
              {"num_attention_heads", 16}});
  } else if (shape == "tiny") {
    j.update({{"hidden_size", 64},
              {"intermediate_size", 96},
              {"num_hidden_layers", 4},
              {"num_attention_heads", 4}});
  } else {
    j.update({{"hidden_size", 768},
              {"intermediate_size", 1152},
              {"num_hidden_layers", 22},
              {"num_attention_heads", 12}});
  }
  return j;
}

Status CreateModel(const Options& o, const std::string& dir);

// DIR/model is always written in fp32, so peers load the same weights whatever --dtype is;
// `created` tells whether this run made it (its fp32 table then counts in the peak RSS). The model
// is then loaded from DIR/model through the public API, as every user of mbert loads one.
Result<std::shared_ptr<const Model>> LoadOrCreateModel(const Options& o, bool* created) {
  const std::string dir = o.out + "/model";
  LoadOptions lo;
  MBERT_ASSIGN_OR_RETURN(lo.dtype, ParseWeightDtype(o.dtype));
  *created = !FileExists(dir + "/config.json");
  if (*created) {
    MBERT_RETURN_IF_ERROR(CreateModel(o, dir));
  } else {
    // A model left in --out by a run with another --shape would be timed and recorded as this
    // shape: compare its sizes with the shape's before using it.
    MBERT_ASSIGN_OR_RETURN(const ModelConfig have, ModelConfig::FromFile(dir + "/config.json"));
    MBERT_ASSIGN_OR_RETURN(const ModelConfig want,
                           ModelConfig::FromJson(ShapeConfig(o.shape), o.shape));
    if (have.hidden_size != want.hidden_size || have.num_hidden_layers != want.num_hidden_layers ||
        have.intermediate_size != want.intermediate_size ||
        have.num_attention_heads != want.num_attention_heads ||
        have.vocab_size != want.vocab_size || have.layer_is_global != want.layer_is_global ||
        have.local_attention != want.local_attention)
      return Status::Error(
          dir + " holds a model of another shape (hidden " + std::to_string(have.hidden_size) +
          ", " + std::to_string(have.num_hidden_layers) + " layers) than --shape " + o.shape +
          " (hidden " + std::to_string(want.hidden_size) + ", " +
          std::to_string(want.num_hidden_layers) + " layers); use another --out or delete " + dir);
  }
  return Model::Load(dir, lo);
}

// Writes a Megatron-initialised fp32 model of o.shape to `dir`.
Status CreateModel(const Options& o, const std::string& dir) {
  MBERT_ASSIGN_OR_RETURN(ModelConfig c, ModelConfig::FromJson(ShapeConfig(o.shape), o.shape));
  TensorTable params;
  for (const ParamSpec& p : ExpectedParams(c)) params.emplace(p.name, Tensor(p.shape));
  MBERT_RETURN_IF_ERROR(MegatronInit(c, 1234, &params));
  MBERT_RETURN_IF_ERROR(SaveWeights(dir, c, params));
  json cj = c.ToJson();
  cj["torch_dtype"] = "float32";
  return WriteFileAtomic(dir + "/config.json", cj.dump(2));
}

// Lengths per reference §6.2 (normal, clipped), ids uniform in [100, 16000) as the paper's
// efficiency notebooks draw them. Sequence counts are scaled for a small CPU.
Workload MakeWorkload(const std::string& name, double scale) {
  Workload w;
  w.name = name;
  Rng rng = Rng::ForStream(0, name);
  auto count = [&](int n) { return std::max(1, static_cast<int>(std::lround(n * scale))); };
  std::vector<int> lens;
  if (name == "fixed512")
    lens.assign(count(32), 512);
  else if (name == "fixed8192")
    lens.assign(count(2), 8192);
  else if (name == "latency128")
    lens.assign(1, 128), w.single_thread = true;
  else {
    const bool shrt = name == "varshort";
    const double mean = shrt ? 256 : 4102, sd = shrt ? 64 : 1024;
    const int lo = shrt ? 32 : 171, hi = shrt ? 476 : 7624;
    const int n = count(shrt ? 64 : 4);
    for (int i = 0; i < n; ++i)
      lens.push_back(std::clamp(static_cast<int>(std::lround(mean + sd * rng.Normal())), lo, hi));
  }
  for (int len : lens) {
    std::vector<int32_t> ids(static_cast<size_t>(len));
    for (auto& id : ids) id = 100 + static_cast<int32_t>(rng.UniformInt(15900));
    w.seqs.push_back(std::move(ids));
  }
  return w;
}

// Encoder FLOPs of one forward (the work a dense-free, band-only implementation must do):
// linear layers 2·(3C² + C² + 2IC + IC) per token per layer; attention 4·C per (query, key)
// pair inside the window (QKᵀ and PV).
double ModelFlops(const ModelConfig& c, const std::vector<std::vector<int32_t>>& seqs) {
  const double C = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
  const double linear = 2.0 * (3 * C * C + C * C + 3 * I * C);
  const int64_t W = c.half_window();
  double flops = 0.0;
  for (const auto& s : seqs) {
    const int64_t S = static_cast<int64_t>(s.size());
    int64_t band_pairs = 0;  // Σ_i |{j : |i-j| <= W}|
    for (int64_t i = 0; i < S; ++i)
      band_pairs += std::min(S - 1, i + W) - std::max<int64_t>(0, i - W) + 1;
    for (int l = 0; l < c.num_hidden_layers; ++l) {
      const double pairs = c.layer_is_global[l] ? static_cast<double>(S) * S : band_pairs;
      flops += linear * S + 4.0 * C * pairs;
    }
  }
  return flops;
}

// fp32 GEMM throughput of this binary at the model's largest square-ish shape (M=512, K=C,
// N=3C: the Wqkv projection), with the same threads: the "peak" the model is measured against.
double GemmPeakGflops(const ModelConfig& c) {
  const int64_t M = 512, K = c.hidden_size, N = 3 * c.hidden_size;
  std::vector<float> w(static_cast<size_t>(N * K), 0.01f), x(static_cast<size_t>(M * K), 0.5f),
      y(static_cast<size_t>(M * N));
  ops::Linear lin(w.data(), N, K, nullptr);
  lin.Forward(x.data(), M, y.data());
  double best = 0.0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const int iters = 10;
    for (int i = 0; i < iters; ++i) lin.Forward(x.data(), M, y.data());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * M * N * K * iters / s / 1e9);
  }
  return best;
}

Status WriteIds(const std::string& path, const std::vector<std::vector<int32_t>>& seqs) {
  std::vector<int32_t> ids, cu{0};
  for (const auto& s : seqs) {
    ids.insert(ids.end(), s.begin(), s.end());
    cu.push_back(static_cast<int32_t>(ids.size()));
  }
  return WriteInt32Safetensors(path, {{"input_ids", ids}, {"cu_seqlens", cu}});
}

int Run(const Options& o) {
  std::error_code ec;
  fs::create_directories(o.out, ec);
  bool created = false;
  auto model = LoadOrCreateModel(o, &created);
  if (!model.ok()) return ReportError(model.status());
  Context ctx(model.value());
  const Encoder& m = ctx.model().impl().encoder;
  const ModelConfig& c = m.config();
  const int threads = omp_get_max_threads();
  const char* dtype = WeightDtypeName(m.weight_dtype());
  const double weights_mb = static_cast<double>(m.weight_bytes()) / (1 << 20);
  std::printf("mbert bench: %s shape (%lld parameters, %.0f MB of %s weights), %d threads, %s\n",
              o.shape.c_str(), static_cast<long long>(m.num_parameters()), weights_mb, dtype,
              threads, MachineName().c_str());
  if (created)
    std::printf("note: this run created the fp32 model first; its peak RSS includes that\n");
  json report = {
      {"commit", MBERT_GIT_COMMIT}, {"machine", MachineName()}, {"threads", threads},
      {"shape", o.shape},           {"dtype", dtype},           {"parameters", m.num_parameters()},
      {"weights_mb", weights_mb},   {"model_created", created}};
  std::printf("%-11s %6s %7s %10s %11s %9s %10s %9s\n", "workload", "seqs", "tokens", "median s",
              "tokens/s", "GFLOP/s", "%GEMMpeak", "peakRSS");
  for (const std::string& name : o.workloads) {
    Workload w = MakeWorkload(name, o.scale);
    if (w.seqs.empty()) return ReportError(Status::Error("unknown workload " + name));
    const int t = w.single_thread ? 1 : threads;
    omp_set_num_threads(t);
    const double peak = GemmPeakGflops(c);
    int64_t tokens = 0;
    for (const auto& s : w.seqs) tokens += static_cast<int64_t>(s.size());
    Status st = WriteIds(o.out + "/inputs-" + name + ".safetensors", w.seqs);
    if (!st.ok()) return ReportError(st);
    // Warm-up with the first batch (buffers, RoPE tables, GEMM primitives), then timed repeats.
    ctx.mutable_options().batch_tokens = o.batch_tokens;
    std::vector<float> sample;
    const size_t sample_seqs = std::min<size_t>(w.seqs.size(), 4);
    int64_t sample_rows = 0;
    for (size_t s = 0; s < sample_seqs; ++s) sample_rows += static_cast<int64_t>(w.seqs[s].size());
    auto pass = [&](bool keep) {
      return tasks::RunPacked(
          ctx, w.seqs, [&](size_t first, const PackedBatch& b, const std::vector<float>& h) {
            if (keep && first < sample_seqs) {
              const int64_t rows = std::min<int64_t>(
                  b.num_tokens(),
                  sample_rows - static_cast<int64_t>(sample.size()) / c.hidden_size);
              sample.insert(sample.end(), h.begin(), h.begin() + rows * c.hidden_size);
            }
            return Status::Ok();
          });
    };
    st = pass(true);
    if (!st.ok()) return ReportError(st);
    std::vector<double> times;
    ctx.ResetProfile();
    ctx.EnableProfile(o.profile);
    for (int r = 0; r < o.repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      st = pass(false);
      if (!st.ok()) return ReportError(st);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    ctx.EnableProfile(false);
    const OpProfile& prof = ctx.profile();
    std::sort(times.begin(), times.end());
    const double med = times[times.size() / 2];
    const double gflops = ModelFlops(c, w.seqs) / med / 1e9;
    const double rss = PeakRssMb();
    std::printf("%-11s %6zu %7lld %10.3f %11.1f %9.1f %9.1f%% %7.0fMB\n", name.c_str(),
                w.seqs.size(), static_cast<long long>(tokens), med, tokens / med, gflops,
                100.0 * gflops / peak, rss);
    std::fflush(stdout);
    report["workloads"][name] = {{"sequences", w.seqs.size()},
                                 {"tokens", tokens},
                                 {"threads", t},
                                 {"seconds_median", med},
                                 {"seconds_all", times},
                                 {"tokens_per_s", tokens / med},
                                 {"model_gflops", gflops},
                                 {"gemm_peak_gflops", peak},
                                 {"pct_of_gemm_peak", 100.0 * gflops / peak},
                                 {"peak_rss_mb", rss}};
    if (o.profile) {
      double total = 0.0;
      for (const auto& [op, sec] : prof.seconds) total += sec;
      json pj;
      for (const auto& [op, sec] : prof.seconds) {
        std::printf("    %-18s %8.3f s  %5.1f%%  %8.2f us/token\n", op.c_str(), sec,
                    100.0 * sec / total, 1e6 * sec / static_cast<double>(prof.tokens));
        pj[op] = sec;
      }
      report["workloads"][name]["profile_seconds"] = pj;
    }
    Tensor out({static_cast<int64_t>(sample.size()) / c.hidden_size, c.hidden_size});
    std::copy(sample.begin(), sample.end(), out.data());
    st = WriteSafetensors(o.out + "/outputs-" + name + ".safetensors",
                          {{"last_hidden_state", &out, DType::kF32}});
    if (!st.ok()) return ReportError(st);
    omp_set_num_threads(threads);
  }
  Status st = WriteFileAtomic(o.out + "/mbert.json", report.dump(2));
  return st.ok() ? 0 : ReportError(st);
}

}  // namespace

Subcommand AddBenchCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app = root.add_subcommand("bench", "inference benchmark (paper workloads, scaled)");
  app->add_option("--shape", o->shape, "base, large or tiny")
      ->check(CLI::IsMember({"base", "large", "tiny"}));
  app->add_option("--out", o->out, "output directory (model, inputs, outputs, mbert.json)");
  // An unknown name used to run as varlong (MakeWorkload's last branch) and be recorded under
  // the misspelt name.
  app->add_option("--workloads", o->workloads, "fixed512 varshort fixed8192 varlong latency128")
      ->check(CLI::IsMember({"fixed512", "varshort", "fixed8192", "varlong", "latency128"}));
  // Upper bounds keep the sequence counts and buffers allocatable (--scale 1e12 overflowed int).
  app->add_option("--repeats", o->repeats, "timed repeats (median reported)")
      ->check(CLI::Range(1, 1000));
  app->add_option("--batch-tokens", o->batch_tokens, "tokens per packed forward")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app->add_option("--scale", o->scale, "multiply the number of sequences per workload")
      ->check(CLI::Range(1e-6, 1000.0));
  app->add_flag("--profile", o->profile, "time every op kind and print the breakdown");
  app->add_option("--dtype", o->dtype,
                  "weight storage: f32, or bf16 (GEMM weights and embeddings in bf16, fp32 "
                  "compute); DIR/model is written in fp32 either way")
      ->check(CLI::IsMember({"f32", "bf16"}));
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
