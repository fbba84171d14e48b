// bench_train: MLM training throughput and peak memory of mbert on a small or ModernBERT-base
// shaped model with random weights, on one fixed packed batch (issue 4 item 9).
//
//   bench_train --shape small|base --rows R --row-tokens T --steps S --threads N --out DIR
//
// One optimizer step = for every packed row (one micro-batch): forward with saved activations,
// sparse MLM head, backward (gradients summed over the rows, each weighted by its share of the
// predicted tokens, as the trainer does); then StableAdamW and Encoder::RefreshWeights. One
// warm-up step (its loss is the loss of the initial weights), then S timed steps on the same
// batch; tokens/s counts real (non-pad) tokens over the median step time.
//
// Writes, so bench/train_peers.py runs PyTorch on exactly the same thing:
//   DIR/model/            config.json + model.safetensors (ModernBertForMaskedLM, fp32, the
//                         initial weights)
//   DIR/batch.safetensors per row r: row<r>.input_ids, row<r>.labels (masked input, -100 = not
//                         predicted), row<r>.cu_seqlens (B+1, the trailing padding included as
//                         its own pseudo-sequence) and row<r>.real_seqs (1: the first real_seqs
//                         segments are documents, any further one is the row's padding); I32
//   DIR/mbert_train.json  settings, per-step seconds and losses, tokens/s, peak RSS
#include <omp.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "batch/mlm_masking.h"
#include "batch/packed_batch.h"
#include "batch/packer.h"
#include "batch/rng.h"
#include "core/safetensors.h"
#include "model/config.h"
#include "model/encoder.h"
#include "model/weights.h"
#include "train/init.h"
#include "train/mlm_backward.h"
#include "train/stable_adamw.h"

namespace mbert {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string shape = "small";
  int rows = 2;
  int64_t row_tokens = 1024;
  int steps = 5;
  int threads = 2;
  std::string out = "build-bench/train-small";
  uint64_t seed = 1234;
  double lr = 8e-4;  // constant; the recipe's peak LR (reference §5.2)
  double mlm_probability = 0.30;
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

double LoadAverage1() {
  std::ifstream in("/proc/loadavg");
  double l = -1.0;
  in >> l;
  return l;
}

// small: the task's small config; base: ModernBERT-base (reference §2). Both MLM models with the
// HF defaults for everything not listed (global attention every 3rd layer, local window 128).
json ShapeConfig(const std::string& shape) {
  json j = {{"architectures", {"ModernBertForMaskedLM"}},
            {"model_type", "modernbert"},
            {"vocab_size", 50368},
            {"pad_token_id", 50283},
            {"local_attention", 128},
            {"global_attn_every_n_layers", 3},
            {"global_rope_theta", 160000.0},
            {"local_rope_theta", 10000.0},
            {"max_position_embeddings", 8192}};
  if (shape == "base") {
    j.update({{"hidden_size", 768},
              {"intermediate_size", 1152},
              {"num_hidden_layers", 22},
              {"num_attention_heads", 12}});
  } else {
    j.update({{"hidden_size", 256},
              {"intermediate_size", 384},
              {"num_hidden_layers", 4},
              {"num_attention_heads", 4}});
  }
  return j;
}

// Documents like a real pre-training corpus: lengths normal(200, 80) clipped to [16, T], each
// [CLS] body [SEP] with body ids uniform in [100, 16000) (as mbert bench draws them). An endless
// seeded stream: the packer takes as many as it needs.
SequenceSource DocumentStream(const ModelConfig& c, int64_t row_tokens, uint64_t seed) {
  auto rng = std::make_shared<Rng>(Rng::ForStream(seed, "bench-train-documents"));
  const int32_t cls = c.cls_token_id, sep = c.sep_token_id;
  return [rng, row_tokens, cls, sep](std::vector<int32_t>* out) -> Result<bool> {
    const double len = std::round(200.0 + 80.0 * rng->Normal());
    const int64_t n = std::clamp<int64_t>(static_cast<int64_t>(len), 16, row_tokens);
    out->assign(static_cast<size_t>(n), 0);
    (*out)[0] = cls;
    for (int64_t i = 1; i + 1 < n; ++i)
      (*out)[static_cast<size_t>(i)] = 100 + static_cast<int32_t>(rng->UniformInt(15900));
    (*out)[static_cast<size_t>(n - 1)] = sep;
    return true;
  };
}

// Number of leading segments that are documents (the packer appends the row's padding as one
// more pseudo-sequence of pad ids, always last). Called before masking, while pad ids are intact.
int RealSeqs(const PackedBatch& row, int32_t pad_id) {
  int real = 0;
  for (int s = 0; s < row.num_seqs(); ++s) {
    const int32_t b = row.seq_begin(s);
    const bool all_pad =
        std::all_of(row.input_ids.begin() + b, row.input_ids.begin() + b + row.seq_len(s),
                    [pad_id](int32_t id) { return id == pad_id; });
    if (all_pad) break;
    ++real;
  }
  return real;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int Fail(const Status& s) {
  std::fprintf(stderr, "bench_train: %s\n", s.message().c_str());
  return 1;
}

int Run(const Options& o) {
  namespace fs = std::filesystem;
  omp_set_num_threads(o.threads);
  std::error_code ec;
  fs::create_directories(o.out + "/model", ec);
  if (ec) return Fail(Status::Error("cannot create " + o.out + "/model: " + ec.message()));

  auto cfg = ModelConfig::FromJson(ShapeConfig(o.shape), "--shape " + o.shape);
  if (!cfg.ok()) return Fail(cfg.status());
  const ModelConfig c = cfg.value();
  TensorTable params;
  for (const ParamSpec& p : ExpectedParams(c)) params.emplace(p.name, Tensor(p.shape));
  if (Status s = MegatronInit(c, o.seed, &params); !s.ok()) return Fail(s);
  if (Status s = SaveWeights(o.out + "/model", c, params); !s.ok()) return Fail(s);
  json cj = c.ToJson();
  cj["torch_dtype"] = "float32";
  if (Status s = WriteFileAtomic(o.out + "/model/config.json", cj.dump(2)); !s.ok()) return Fail(s);
  auto model = Encoder::FromParams(c, std::move(params));
  if (!model.ok()) return Fail(model.status());
  Encoder& m = model.value();

  // One batch of R rows from the greedy best-fit packer, masked once at 30% (reference §5.1).
  PackerOptions po;
  po.rows = o.rows;
  po.row_tokens = o.row_tokens;
  po.source_batch_size = std::max<int64_t>(8, 4 * o.rows);
  po.buffer_size = 5 * po.source_batch_size;
  po.pad_token_id = c.pad_token_id;
  auto packer = GreedyBestFitPacker::Create(DocumentStream(c, o.row_tokens, o.seed), po);
  if (!packer.ok()) return Fail(packer.status());
  std::vector<PackedBatch> rows;
  auto got = packer.value().Next(&rows);
  if (!got.ok()) return Fail(got.status());
  std::vector<int> real_seqs;
  int64_t real_tokens = 0;
  for (const PackedBatch& r : rows) {
    real_seqs.push_back(RealSeqs(r, c.pad_token_id));
    real_tokens += r.seq_begin(real_seqs.back());
    if (r.seq_begin(real_seqs.back()) != r.num_non_pad(c.pad_token_id))
      return Fail(Status::Error("internal: the packer's padding is not one trailing segment"));
  }
  MlmMaskingOptions mo;
  mo.mlm_probability = o.mlm_probability;
  mo.pad_token_id = c.pad_token_id;
  Rng mask_rng = Rng::ForStream(o.seed, "bench-train-masking");
  const MaskingCounts counts = ApplyMlmMasking(&rows, mo, mask_rng);
  int64_t labeled = 0, docs = 0;
  std::vector<std::pair<std::string, std::vector<int32_t>>> batch_file;
  for (size_t r = 0; r < rows.size(); ++r) {
    labeled += rows[r].num_labeled();
    docs += real_seqs[r];
    const std::string p = "row" + std::to_string(r) + ".";
    batch_file.push_back({p + "input_ids", rows[r].input_ids});
    batch_file.push_back({p + "labels", rows[r].labels});
    batch_file.push_back({p + "cu_seqlens", rows[r].cu_seqlens});
    batch_file.push_back({p + "real_seqs", {real_seqs[r]}});
  }
  if (Status s = WriteInt32Safetensors(o.out + "/batch.safetensors", batch_file); !s.ok())
    return Fail(s);

  StableAdamWConfig oc;
  oc.max_lr = o.lr;
  auto opt = StableAdamW::Create(oc);
  if (!opt.ok()) return Fail(opt.status());
  TensorTable grads = ZeroGradsLike(m.params());

  std::printf(
      "bench_train: %s shape (%lld parameters), %d rows x %lld tokens (%lld real in %lld "
      "documents, %lld predicted), %d threads, load %.2f, %s\n",
      o.shape.c_str(), static_cast<long long>(m.num_parameters()), o.rows,
      static_cast<long long>(o.row_tokens), static_cast<long long>(real_tokens),
      static_cast<long long>(docs), static_cast<long long>(labeled), o.threads, LoadAverage1(),
      MachineName().c_str());
  std::fflush(stdout);
  const double rss_before = PeakRssMb();

  // Step 0 is the warm-up (first-touch of activations, gradients, optimizer moments, GEMM
  // primitives); steps 1..S are timed.
  std::vector<double> step_s, fb_s, opt_s, refresh_s, losses;
  MlmWorkspace ws;  // as the trainer: buffers reused across micro-batches and steps
  for (int step = 0; step <= o.steps; ++step) {
    const auto t0 = Clock::now();
    for (auto& [name, g] : grads) g.Zero();
    double loss = 0.0;
    for (const PackedBatch& r : rows) {
      if (r.num_labeled() == 0) continue;
      const float w = static_cast<float>(r.num_labeled()) / static_cast<float>(labeled);
      auto res = MlmForwardBackward(m, r, &grads, w, &ws);
      if (!res.ok()) return Fail(res.status());
      loss += static_cast<double>(res.value().loss) * w;
    }
    const auto t1 = Clock::now();
    opt.value().Step(m.mutable_params(), grads, o.lr);
    const auto t2 = Clock::now();
    m.RefreshWeights();
    const auto t3 = Clock::now();
    losses.push_back(loss);
    if (step == 0) continue;
    step_s.push_back(Seconds(t0, t3));
    fb_s.push_back(Seconds(t0, t1));
    opt_s.push_back(Seconds(t1, t2));
    refresh_s.push_back(Seconds(t2, t3));
    std::printf(
        "  step %d: %.3f s (forward+backward %.3f, optimizer %.3f, refresh %.3f), "
        "loss %.6f\n",
        step, step_s.back(), fb_s.back(), opt_s.back(), refresh_s.back(), loss);
    std::fflush(stdout);
  }
  const double med = Median(step_s);
  const double tps = static_cast<double>(real_tokens) / med;
  const double rss = PeakRssMb();
  std::printf(
      "mbert: %.1f tokens/s, %.3f s/step (median of %d), first loss %.6f, peak RSS "
      "%.0f MB (%.0f MB before the first step), load %.2f\n",
      tps, med, o.steps, losses[0], rss, rss_before, LoadAverage1());

  json report = {{"system", "mbert"},
                 {"machine", MachineName()},
                 {"shape", o.shape},
                 {"parameters", m.num_parameters()},
                 {"threads", o.threads},
                 {"rows", o.rows},
                 {"row_tokens", o.row_tokens},
                 {"real_tokens", real_tokens},
                 {"documents", docs},
                 {"predicted", labeled},
                 {"masking",
                  {{"probability", o.mlm_probability},
                   {"masked", counts.masked},
                   {"randomized", counts.randomized},
                   {"kept", counts.kept}}},
                 {"lr", o.lr},
                 {"seed", o.seed},
                 {"steps", o.steps},
                 {"seconds_per_step", step_s},
                 {"seconds_median", med},
                 {"forward_backward_median", Median(fb_s)},
                 {"optimizer_median", Median(opt_s)},
                 {"refresh_median", Median(refresh_s)},
                 {"tokens_per_s", tps},
                 {"losses", losses},
                 {"first_loss", losses[0]},
                 {"peak_rss_mb", rss},
                 {"rss_before_first_step_mb", rss_before},
                 {"load_average_1min_end", LoadAverage1()}};
  if (Status s = WriteFileAtomic(o.out + "/mbert_train.json", report.dump(2)); !s.ok())
    return Fail(s);
  return 0;
}

}  // namespace
}  // namespace mbert

int main(int argc, char** argv) {
  mbert::Options o;
  CLI::App app{"mbert MLM training throughput and peak memory (one fixed packed batch)"};
  app.add_option("--shape", o.shape, "small (C 256, L 4) or base (ModernBERT-base)")
      ->check(CLI::IsMember({"small", "base"}));
  app.add_option("--rows", o.rows, "packed rows per step (micro-batches)")
      ->check(CLI::PositiveNumber);
  app.add_option("--row-tokens", o.row_tokens, "tokens per packed row")
      ->check(CLI::Range(int64_t{16}, int64_t{8192}));
  app.add_option("--steps", o.steps, "timed optimizer steps after one warm-up step")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads, "OpenMP threads")->check(CLI::PositiveNumber);
  app.add_option("--out", o.out, "output directory (model, batch, mbert_train.json)");
  app.add_option("--seed", o.seed, "seed for weights, documents and masking");
  app.add_option("--lr", o.lr, "constant learning rate (also StableAdamW's max_lr)")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  return mbert::Run(o);
}
