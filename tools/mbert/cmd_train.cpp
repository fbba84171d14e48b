// mbert train --config FILE [--resume]: MLM pre-training from a JSON config (see
// docs/training.md); data parallel when started by mpirun (`mpirun -np 2 mbert train ...`).
// Progress on stderr; metrics in <output_dir>/metrics.jsonl; checkpoints in
// <output_dir>/checkpoint-<step> (HF-loadable) with <output_dir>/latest naming the newest.
#include <iostream>

#include "command.h"
#include "core/file_io.h"
#include "runner.h"
#include "train/communicator.h"
#include "train/trainer.h"

namespace mbert::cli {

namespace {

struct Options {
  std::string config;
  bool resume = false;
  bool allow_data_change = false;
  int64_t max_steps = 0;
  bool eval_only = false;
  int eval_batches = 0;
};

nlohmann::json ScoreJson(const MlmScore& m) {
  return {{"loss", m.loss},
          {"accuracy", m.accuracy},
          {"predicted", m.predicted},
          {"unigram_loss", m.unigram_loss},
          {"unigram_accuracy", m.unigram_accuracy}};
}

// --eval-only: the held-out evaluation of the run's newest checkpoint (or of the initial model
// when the run has none), as one JSON object on stdout.
int EvaluateOnly(Trainer& t) {
  auto em = t.Evaluate();
  if (!em.ok()) return ReportError(em.status());
  nlohmann::json j = ScoreJson(em.value());
  j["step"] = t.step();
  j["tokens_seen"] = t.tokens_seen();
  for (const auto& [name, m] : em->per_source) j["per_source"][name] = ScoreJson(m);
  std::cout << j.dump(2) << "\n";
  return 0;
}

int Train(const Options& o, Communicator* comm) {
  auto cfg = TrainConfig::FromFile(o.config);
  if (!cfg.ok()) return ReportError(cfg.status());
  if (o.allow_data_change) cfg->allow_data_change = true;
  if (o.max_steps > 0) {
    cfg->max_steps = o.max_steps;
    if (cfg->schedule.unit == ScheduleUnit::kSteps && cfg->schedule.decay == 0)
      cfg->schedule.total = o.max_steps;
  }
  if (o.eval_batches > 0) cfg->eval_batches = o.eval_batches;
  const bool resume = o.resume || (o.eval_only && FileExists(cfg->output_dir + "/latest"));
  auto trainer = Trainer::Create(cfg.value(), resume, comm);
  if (!trainer.ok()) return ReportError(trainer.status());
  if (o.eval_only) {
    // Every rank takes part in the all-reduced evaluation; rank 0 prints it.
    if (comm->rank() == 0) return EvaluateOnly(*trainer.value());
    return trainer.value()->Evaluate().ok() ? 0 : 1;
  }
  Status st = trainer.value()->Run();
  return st.ok() ? 0 : ReportError(st);
}

// Under mpirun each rank runs this; a rank that fails takes the job down (MPI_Abort) instead of
// leaving the others blocked in the next all-reduce.
int Run(const Options& o) {
  Status init = InitDistributedFromEnvironment(nullptr, nullptr);
  if (!init.ok()) return ReportError(init);
  std::unique_ptr<Communicator> comm = WorldCommunicator();
  const int rc = Train(o, comm.get());
  if (rc != 0 && comm->size() > 1) AbortDistributed(rc);
  FinalizeDistributed();
  return rc;
}

}  // namespace

Subcommand AddTrainCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app = root.add_subcommand("train", "MLM pre-training from a JSON config");
  app->add_option("-c,--config", o->config, "training config (JSON)")->required();
  app->add_flag("--resume", o->resume, "continue from <output_dir>/latest");
  app->add_flag("--allow-data-change", o->allow_data_change,
                "with --resume: continue on training data that differs from the checkpoint's "
                "(a fresh epoch) instead of stopping with an error");
  // Bounded like the config's max_steps; 0 or a negative count was silently ignored before.
  app->add_option("--max-steps", o->max_steps, "override max_steps")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 50));
  app->add_flag("--eval-only", o->eval_only,
                "evaluate the run's newest checkpoint (or the initial model) on the held-out "
                "data and print JSON: loss, accuracy and the unigram baseline, per source");
  app->add_option("--eval-batches", o->eval_batches,
                  "override eval_batches (held-out rows, per source with a corpus)")
      ->check(CLI::Range(1, 1 << 20));
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
