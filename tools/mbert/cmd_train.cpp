// mbert train --config FILE [--resume]: MLM pre-training from a JSON config (see
// docs/training.md); data parallel when started by mpirun (`mpirun -np 2 mbert train ...`).
// Progress on stderr; metrics in <output_dir>/metrics.jsonl; checkpoints in
// <output_dir>/checkpoint-<step> (HF-loadable) with <output_dir>/latest naming the newest.
#include <iostream>

#include "command.h"
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
};

int Train(const Options& o, Communicator* comm) {
  auto cfg = TrainConfig::FromFile(o.config);
  if (!cfg.ok()) return ReportError(cfg.status());
  if (o.allow_data_change) cfg->allow_data_change = true;
  if (o.max_steps > 0) {
    cfg->max_steps = o.max_steps;
    if (cfg->schedule.unit == ScheduleUnit::kSteps && cfg->schedule.decay == 0)
      cfg->schedule.total = o.max_steps;
  }
  auto trainer = Trainer::Create(cfg.value(), o.resume, comm);
  if (!trainer.ok()) return ReportError(trainer.status());
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
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
