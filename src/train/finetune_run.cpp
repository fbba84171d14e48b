#include "train/finetune_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include "batch/rng.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "eval/classification_metrics.h"
#include "eval/correlation.h"
#include "eval/sequence_labeling.h"
#include "model/weights.h"
#include "train/adamw.h"
#include "train/classification_objectives.h"
#include "train/finetuner.h"
#include "train/hf_linear_schedule.h"
#include "train/metrics_file.h"
#include "train/progress_line.h"
#include "train/task_model.h"

namespace mbert {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const char* TaskName(FineTuneTask t) {
  switch (t) {
    case FineTuneTask::kSequenceClassification:
      return "sequence classification";
    case FineTuneTask::kRegression:
      return "regression";
    case FineTuneTask::kTokenClassification:
      return "token classification";
  }
  return "?";
}

std::vector<std::string> MetricsOf(FineTuneTask t) {
  switch (t) {
    case FineTuneTask::kSequenceClassification:
      return {"accuracy", "f1", "matthews"};
    case FineTuneTask::kRegression:
      return {"pearson", "spearman"};
    case FineTuneTask::kTokenClassification:
      return {"entity_f1", "token_accuracy"};
  }
  return {};
}

TaskBatch MakeBatch(const FineTuneData& d, const std::vector<int64_t>& idx) {
  TaskBatch b;
  std::vector<std::vector<int32_t>> seqs;
  for (int64_t i : idx) {
    const FineTuneExample& e = d.examples[static_cast<size_t>(i)];
    seqs.push_back(e.ids);
    if (d.task == FineTuneTask::kSequenceClassification) b.labels.push_back(e.label);
    if (d.task == FineTuneTask::kRegression) b.targets.push_back(e.target);
    if (d.task == FineTuneTask::kTokenClassification)
      b.labels.insert(b.labels.end(), e.token_labels.begin(), e.token_labels.end());
  }
  b.packed = PackedBatch::FromSequences(seqs);
  return b;
}

// Consecutive examples of `order`, at most batch_size per batch and (when batch_tokens > 0) no
// more tokens than batch_tokens unless a single example is longer.
std::vector<std::vector<int64_t>> Chunk(const std::vector<int64_t>& lengths,
                                        const std::vector<int64_t>& order, int batch_size,
                                        int64_t batch_tokens) {
  std::vector<std::vector<int64_t>> out;
  std::vector<int64_t> cur;
  int64_t tokens = 0;
  for (int64_t i : order) {
    const int64_t n = lengths[static_cast<size_t>(i)];
    if (!cur.empty() && (static_cast<int>(cur.size()) == batch_size ||
                         (batch_tokens > 0 && tokens + n > batch_tokens))) {
      out.push_back(std::move(cur));
      cur.clear();
      tokens = 0;
    }
    cur.push_back(i);
    tokens += n;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::vector<int64_t> LengthsOf(const FineTuneData& d) {
  std::vector<int64_t> n;
  for (const FineTuneExample& e : d.examples) n.push_back(static_cast<int64_t>(e.ids.size()));
  return n;
}

int64_t ArgMax(const float* x, int64_t k) { return std::max_element(x, x + k) - x; }

struct DevResult {
  json metrics;  // every metric of the task plus "loss"
};

Result<DevResult> Evaluate(FineTuner& ft, Objective* objective, const FineTuneData& dev,
                           int batch_size, int64_t batch_tokens, int64_t num_labels) {
  std::vector<int64_t> order(dev.examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::vector<int64_t> pred, gold;
  std::vector<double> values, targets;
  std::vector<std::vector<std::string>> pred_tags, gold_tags;
  double loss_sum = 0.0;
  int64_t count = 0;
  for (const std::vector<int64_t>& idx : Chunk(LengthsOf(dev), order, batch_size, batch_tokens)) {
    const TaskBatch b = MakeBatch(dev, idx);
    MBERT_ASSIGN_OR_RETURN(ObjectiveResult r, ft.Evaluate(b));
    loss_sum += r.loss * static_cast<double>(r.count);
    count += r.count;
    if (dev.task == FineTuneTask::kTokenClassification) {
      const auto* tc = static_cast<TokenClassificationObjective*>(objective);
      const std::vector<int32_t>& rows = tc->labelled_rows();
      size_t row = 0;
      for (int s = 0; s < b.packed.num_seqs(); ++s) {
        std::vector<std::string> p, g;
        const int32_t end = b.packed.seq_begin(s) + b.packed.seq_len(s);
        for (; row < rows.size() && rows[row] < end; ++row) {
          const int64_t k =
              ArgMax(tc->logits().data() + static_cast<int64_t>(row) * num_labels, num_labels);
          p.push_back(dev.id2label[static_cast<size_t>(k)]);
          g.push_back(dev.id2label[static_cast<size_t>(b.labels[static_cast<size_t>(rows[row])])]);
        }
        pred_tags.push_back(std::move(p));
        gold_tags.push_back(std::move(g));
      }
    } else {
      const auto* sc = static_cast<SequenceClassificationObjective*>(objective);
      for (size_t i = 0; i < idx.size(); ++i) {
        const float* l = sc->logits().data() + static_cast<int64_t>(i) * num_labels;
        if (dev.task == FineTuneTask::kRegression) {
          values.push_back(l[0]);
          targets.push_back(b.targets[i]);
        } else {
          pred.push_back(ArgMax(l, num_labels));
          gold.push_back(b.labels[i]);
        }
      }
    }
  }
  DevResult out;
  json& m = out.metrics;
  m["loss"] = count > 0 ? loss_sum / static_cast<double>(count) : 0.0;
  if (dev.task == FineTuneTask::kSequenceClassification) {
    m["accuracy"] = eval::Accuracy(pred, gold);
    m["f1"] = num_labels == 2 ? eval::BinaryF1(pred, gold) : std::nan("");
    m["matthews"] = eval::Matthews(pred, gold);
  } else if (dev.task == FineTuneTask::kRegression) {
    m["pearson"] = eval::Pearson(values, targets);
    m["spearman"] = eval::Spearman(values, targets);
  } else {
    const eval::EntityScores s = eval::EntityF1(pred_tags, gold_tags);
    m["entity_f1"] = s.f1;
    m["entity_precision"] = s.precision;
    m["entity_recall"] = s.recall;
    m["token_accuracy"] = eval::TokenAccuracy(pred_tags, gold_tags);
  }
  return out;
}

// The model files of a fine-tuned model into `dir` (which exists).
Status WriteModelFiles(const std::string& dir, const Encoder& model, FineTuneTask task,
                       const std::string& tokenizer_dir) {
  MBERT_RETURN_IF_ERROR(SaveWeights(dir, model.config(), model.params()));
  MBERT_RETURN_IF_ERROR(
      WriteFileAtomic(dir + "/config.json", TaskConfigJson(model.config(), task).dump(2)));
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string src = tokenizer_dir + "/" + f;
    if (!FileExists(src)) continue;
    MBERT_ASSIGN_OR_RETURN(std::string s, ReadFile(src));
    MBERT_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + f, s));
  }
  return Status::Ok();
}

// Writes `fill` into out/.name.tmp, then replaces out/name with it.
template <typename Fill>
Status PublishDir(const std::string& out, const std::string& name, Fill fill) {
  const std::string tmp = out + "/." + name + ".tmp", final_dir = out + "/" + name;
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::Error(tmp + ": cannot create: " + ec.message());
  MBERT_RETURN_IF_ERROR(fill(tmp));
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return Status::Error(final_dir + ": cannot publish: " + ec.message());
  return Status::Ok();
}

// What a checkpoint must agree on with the resuming run.
json RunFingerprint(const FineTuneRunOptions& o, FineTuneJob& job, int64_t total) {
  json j = job.Fingerprint();
  j.update(json{{"lr", o.lr},
                {"epochs", o.epochs},
                {"batch_size", o.batch_size},
                {"batch_tokens", o.batch_tokens},
                {"warmup_ratio", o.warmup_ratio},
                {"weight_decay", o.weight_decay},
                {"max_grad_norm", o.max_grad_norm},
                {"seed", o.seed},
                {"train_examples", job.TrainLengths().size()},
                {"total_steps", total}});
  return j;
}

// Sequence classification, regression and token classification.
class ClassificationJob : public FineTuneJob {
 public:
  ClassificationJob(const FineTuneData& train, const FineTuneData& dev)
      : train_(train), dev_(dev), lengths_(LengthsOf(train)) {}

  std::vector<int64_t> TrainLengths() const override { return lengths_; }
  const std::string& train_source() const override { return train_.source; }
  TaskBatch TrainBatch(const std::vector<int64_t>& examples) const override {
    return MakeBatch(train_, examples);
  }

  Result<std::string> Prepare(const FineTuneRunOptions& o) override {
    if (dev_.examples.size() < 2)
      return Status::Error(dev_.source + ": the dev set needs at least 2 examples for its metrics");
    if (dev_.task != train_.task || dev_.id2label != train_.id2label)
      return Status::Error(dev_.source + ": the dev data's task or labels differ from " +
                           train_.source + "'s");
    const std::string metric = o.metric.empty() ? DefaultMetric(train_.task) : o.metric;
    MBERT_RETURN_IF_ERROR(CheckMetric(train_.task, metric));
    if (metric == "f1" && train_.id2label.size() != 2)
      return Status::Error("--metric f1 is binary F1 and needs 2 labels; the data has " +
                           std::to_string(train_.id2label.size()));
    if (train_.task == FineTuneTask::kTokenClassification)
      objective_ = std::make_unique<TokenClassificationObjective>();
    else
      objective_ = std::make_unique<SequenceClassificationObjective>();
    return metric;
  }

  json Fingerprint() const override { return json::object(); }

  Result<Encoder> NewModel(const FineTuneRunOptions& o) override {
    return LoadTaskModel(o.model_dir, train_.task, train_.id2label, o.seed);
  }

  Result<Encoder> LoadCheckpoint(const std::string& dir) override {
    MBERT_ASSIGN_OR_RETURN(Encoder m, Encoder::Load(dir));
    if (m.config().id2label != (train_.task == FineTuneTask::kRegression
                                    ? std::vector<std::string>{"LABEL_0"}
                                    : train_.id2label))
      return Status::Error(dir + "/config.json: its labels differ from the training data's");
    return m;
  }

  Objective* objective() override { return objective_.get(); }

  Result<json> Evaluate(FineTuner& ft, const FineTuneRunOptions& o) override {
    MBERT_ASSIGN_OR_RETURN(
        DevResult d, ::mbert::Evaluate(ft, objective_.get(), dev_, o.batch_size, o.batch_tokens,
                                       ft.model().config().num_labels()));
    return d.metrics;
  }

  Status WriteModel(const std::string& dir, const Encoder& model, bool checkpoint) override {
    (void)checkpoint;  // a checkpoint's model files are best/'s
    return WriteModelFiles(dir, model, train_.task, model_dir_);
  }
  void set_model_dir(const std::string& d) { model_dir_ = d; }

 private:
  const FineTuneData& train_;
  const FineTuneData& dev_;
  std::vector<int64_t> lengths_;
  std::unique_ptr<Objective> objective_;
  std::string model_dir_;
};

}  // namespace

std::string DefaultMetric(FineTuneTask task) {
  switch (task) {
    case FineTuneTask::kSequenceClassification:
      return "accuracy";
    case FineTuneTask::kRegression:
      return "pearson";
    case FineTuneTask::kTokenClassification:
      return "entity_f1";
  }
  return "";
}

Status CheckMetric(FineTuneTask task, const std::string& metric) {
  const std::vector<std::string> ok = MetricsOf(task);
  if (std::find(ok.begin(), ok.end(), metric) != ok.end()) return Status::Ok();
  std::string list;
  for (const std::string& m : ok) list += (list.empty() ? "" : ", ") + m;
  return Status::Error("--metric '" + metric + "' is not a " + TaskName(task) +
                       " metric; choose one of " + list);
}

std::vector<std::vector<int64_t>> EpochBatches(const std::vector<int64_t>& lengths, int batch_size,
                                               int64_t batch_tokens, uint64_t seed, int epoch) {
  std::vector<int64_t> order(lengths.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  Rng rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  for (size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[rng.UniformInt(static_cast<uint64_t>(i))]);
  return Chunk(lengths, order, batch_size, batch_tokens);
}

std::vector<std::vector<int64_t>> EpochBatches(const FineTuneData& train, int batch_size,
                                               int64_t batch_tokens, uint64_t seed, int epoch) {
  return EpochBatches(LengthsOf(train), batch_size, batch_tokens, seed, epoch);
}

Result<FineTuneRunResult> RunFineTune(const FineTuneRunOptions& o, const FineTuneData& train,
                                      const FineTuneData& dev) {
  ClassificationJob job(train, dev);
  job.set_model_dir(o.model_dir);
  return RunFineTuneJob(o, job);
}

Result<FineTuneRunResult> RunFineTuneJob(const FineTuneRunOptions& o, FineTuneJob& job) {
  // Options and data.
  if (!(o.lr > 0.0) || !std::isfinite(o.lr))
    return Status::Error("--lr must be a positive number, got " + std::to_string(o.lr));
  if (o.epochs < 1) return Status::Error("--epochs must be at least 1");
  if (o.batch_size < 1) return Status::Error("--batch-size must be at least 1");
  if (o.batch_tokens < 0) return Status::Error("--batch-tokens must be >= 0 (0: no bound)");
  if (!(o.warmup_ratio >= 0.0 && o.warmup_ratio <= 1.0))
    return Status::Error("--warmup-ratio must lie in [0, 1]");
  if (!(o.weight_decay >= 0.0)) return Status::Error("--weight-decay must be >= 0");
  if (o.eval_every < 0) return Status::Error("--eval-every must be >= 0 (0: once per epoch)");
  if (o.early_stopping < 0) return Status::Error("--early-stopping must be >= 0 (0: off)");
  if (o.out_dir.empty()) return Status::Error("--out is required");
  const std::vector<int64_t> lengths = job.TrainLengths();
  if (lengths.empty()) return Status::Error(job.train_source() + ": no training examples");
  MBERT_ASSIGN_OR_RETURN(const std::string metric, job.Prepare(o));

  // The step plan, fixed before training.
  std::vector<std::vector<int64_t>> plan;
  std::vector<int64_t> epoch_end;  // step count at the end of each epoch
  for (int e = 0; e < o.epochs; ++e) {
    for (auto& b : EpochBatches(lengths, o.batch_size, o.batch_tokens, o.seed, e))
      plan.push_back(std::move(b));
    epoch_end.push_back(static_cast<int64_t>(plan.size()));
  }
  const int64_t total = static_cast<int64_t>(plan.size());
  const int64_t warmup =
      static_cast<int64_t>(std::ceil(o.warmup_ratio * static_cast<double>(total)));
  const json fingerprint = RunFingerprint(o, job, total);

  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) return Status::Error(o.out_dir + ": cannot create the output directory: " + ec.message());
  const std::string metrics_path = o.out_dir + "/metrics.jsonl";

  // The model and optimizer: fresh, or from the latest checkpoint.
  int64_t step = 0, bad_evals = 0;
  FineTuneRunResult res;
  res.metric = metric;
  std::unique_ptr<Encoder> model;
  MBERT_ASSIGN_OR_RETURN(AdamW opt, AdamW::Create({.weight_decay = o.weight_decay}));
  if (o.resume) {
    const std::string latest_file = o.out_dir + "/latest";
    if (!FileExists(latest_file))
      return Status::Error(o.out_dir +
                           ": --resume found no 'latest' checkpoint; run without "
                           "--resume to start fresh");
    MBERT_ASSIGN_OR_RETURN(std::string name, ReadFile(latest_file));
    const std::string ckpt = o.out_dir + "/" + name;
    MBERT_ASSIGN_OR_RETURN(json st, ReadJsonFile(ckpt + "/finetune_state.json"));
    if (!st.contains("options") || st["options"] != fingerprint)
      return Status::Error(ckpt +
                           "/finetune_state.json: the checkpoint was written with other "
                           "options or data (" +
                           (st.contains("options") ? st["options"].dump() : std::string("none")) +
                           " vs now " + fingerprint.dump() +
                           "); resume with the same flags and files");
    MBERT_ASSIGN_OR_RETURN(Encoder m, job.LoadCheckpoint(ckpt));
    model = std::make_unique<Encoder>(std::move(m));
    MBERT_RETURN_IF_ERROR(opt.LoadState(ckpt + "/optimizer.safetensors"));
    step = st.value("step", int64_t{0});
    bad_evals = st.value("bad_evals", int64_t{0});
    res.best_step = st.value("best_step", int64_t{-1});
    // A NaN metric (a constant prediction's correlation) is stored as null.
    res.best_metric = st.contains("best_metric") && st["best_metric"].is_number()
                          ? st["best_metric"].get<double>()
                          : std::nan("");
    res.best_eval = st.value("best_eval", json());
    if (step < 0 || step > total) return Status::Error(ckpt + ": step out of range");
    MBERT_RETURN_IF_ERROR(TruncateMetrics(metrics_path, step));
  } else {
    MBERT_ASSIGN_OR_RETURN(Encoder m, job.NewModel(o));
    model = std::make_unique<Encoder>(std::move(m));
    MBERT_RETURN_IF_ERROR(WriteFileAtomic(metrics_path, ""));
  }

  MBERT_ASSIGN_OR_RETURN(FineTuner ft, FineTuner::Create(model.get(), job.objective(), &opt,
                                                         {.max_grad_norm = o.max_grad_norm}));

  std::ofstream metrics(metrics_path, std::ios::app);
  if (!metrics) return Status::Error(metrics_path + ": cannot open for appending");
  auto save_checkpoint = [&]() -> Status {
    const std::string name = "checkpoint-" + std::to_string(step);
    MBERT_RETURN_IF_ERROR(PublishDir(o.out_dir, name, [&](const std::string& dir) -> Status {
      MBERT_RETURN_IF_ERROR(job.WriteModel(dir, *model, true));
      MBERT_RETURN_IF_ERROR(opt.SaveState(dir + "/optimizer.safetensors"));
      const json st = {{"step", step},
                       {"bad_evals", bad_evals},
                       {"best_step", res.best_step},
                       {"best_metric", res.best_metric},
                       {"best_eval", res.best_eval},
                       {"metric", metric},
                       {"options", fingerprint}};
      return WriteFileAtomic(dir + "/finetune_state.json", st.dump(2));
    }));
    std::string previous;
    if (FileExists(o.out_dir + "/latest")) {
      MBERT_ASSIGN_OR_RETURN(previous, ReadFile(o.out_dir + "/latest"));
    }
    MBERT_RETURN_IF_ERROR(WriteFileAtomic(o.out_dir + "/latest", name));
    if (!previous.empty() && previous != name) fs::remove_all(o.out_dir + "/" + previous, ec);
    return Status::Ok();
  };

  ProgressLine bar(o.progress);
  const int64_t first_step = step;
  double run_seconds = 0.0;
  // A run that stopped early stays stopped when resumed.
  bool stop = o.early_stopping > 0 && bad_evals >= o.early_stopping;
  res.early_stopped = stop;
  while (step < total && !stop) {
    const TaskBatch batch = job.TrainBatch(plan[static_cast<size_t>(step)]);
    const double lr = o.lr * HfLinearScheduleMultiplier(step, warmup, total);
    const auto t0 = std::chrono::steady_clock::now();
    Result<FineTuneStepResult> r = ft.Step(batch, lr);
    if (!r.ok()) return r.status().Wrap("fine-tuning step " + std::to_string(step + 1));
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++step;
    const int64_t epoch =
        std::upper_bound(epoch_end.begin(), epoch_end.end(), step - 1) - epoch_end.begin();
    const double tok_s = secs > 0 ? static_cast<double>(batch.packed.num_tokens()) / secs : 0.0;
    run_seconds += secs;
    metrics << json{{"step", step},
                    {"epoch", epoch},
                    {"loss", r->loss},
                    {"lr", lr},
                    {"grad_norm", r->grad_norm},
                    {"tokens", batch.packed.num_tokens()},
                    {"tokens_per_s", tok_s}}
                   .dump()
            << "\n";
    bar.Show(
        step, total, r->loss, lr, tok_s,
        run_seconds / static_cast<double>(step - first_step) * static_cast<double>(total - step));
    const bool epoch_done = std::find(epoch_end.begin(), epoch_end.end(), step) != epoch_end.end();
    if ((o.eval_every > 0 && step % o.eval_every == 0) || epoch_done) {
      MBERT_ASSIGN_OR_RETURN(const json dm, job.Evaluate(ft, o));
      const double v =
          dm.contains(metric) && dm[metric].is_number() ? dm[metric].get<double>() : std::nan("");
      // A number beats NaN; NaN beats nothing but the first evaluation.
      const bool better = res.best_step < 0 ||
                          (!std::isnan(v) && (std::isnan(res.best_metric) || v > res.best_metric));
      if (better) {
        res.best_step = step;
        res.best_metric = v;
        res.best_eval = dm;
        bad_evals = 0;
        MBERT_RETURN_IF_ERROR(PublishDir(o.out_dir, "best", [&](const std::string& dir) {
          return job.WriteModel(dir, *model, false);
        }));
      } else {
        ++bad_evals;
      }
      metrics << json{{"step", step}, {"epoch", epoch}, {"eval", dm}, {"best", better}}.dump()
              << "\n";
      if (o.progress)
        bar.Line("step " + std::to_string(step) + " dev " + metric + " " + std::to_string(v) +
                 (better ? " (best)" : ""));
      if (o.early_stopping > 0 && bad_evals >= o.early_stopping) {
        res.early_stopped = true;
        stop = true;
      }
      metrics.flush();
      MBERT_RETURN_IF_ERROR(save_checkpoint());
    }
    if (o.stop_after > 0 && step >= o.stop_after && !stop) {
      metrics.flush();
      MBERT_RETURN_IF_ERROR(save_checkpoint());
      stop = true;
    }
  }
  bar.End();
  metrics.flush();
  if (!metrics) return Status::Error(metrics_path + ": write failed");
  res.steps = step;
  return res;
}

}  // namespace mbert
