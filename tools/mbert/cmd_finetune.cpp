// mbert finetune: fine-tunes a checkpoint on a labelled task (finetune_run.h does the work).
//   mbert finetune --model DIR --task glue:sst2 --train SST-2/train.tsv --dev SST-2/dev.tsv
//                  --out runs/sst2 [--lr 8e-5 --epochs 2 --weight-decay 1e-5 ...]
// Tasks: glue:<name> (a GLUE file in the task's own layout, glue.h), seqcls (a TSV/CSV with a
// header: text [text_pair] label columns), regression (the same with a numeric label), tokcls
// (CoNLL: token ... tag per line, blank line between sentences). The best model by the dev
// metric is <out>/best; progress goes to stderr, one JSON summary to stdout. With --sweep, one run
// per point of a learning rate x weight decay x epochs grid (GLUE: the paper's, glue_recipe.h;
// --sweep-lr/--sweep-weight-decay/--sweep-epochs replace its lists) under <out>/sweep/, the best
// run's best/ copied to <out>/best (finetune_sweep.h).
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/file_io.h"
#include "data/conll.h"
#include "data/glue.h"
#include "data/table_reader.h"
#include "hub/hub.h"
#include "model/config.h"
#include "runner.h"
#include "train/finetune_run.h"
#include "train/finetune_sweep.h"
#include "train/glue_recipe.h"

namespace mbert::cli {

namespace {

struct Options {
  FineTuneRunOptions run;
  std::string task, train, dev, text_column, text_pair_column, label_column;
  int64_t max_length = 0;
  bool truncate = false;
  bool quiet = false;
  bool sweep = false;
  std::vector<double> sweep_lr, sweep_weight_decay;
  std::vector<int> sweep_epochs;
};

bool IsGlue(const std::string& task) { return task.rfind("glue:", 0) == 0; }

// The grid of --sweep: the GLUE task's paper grid with the lists given on the command line
// replacing its own; other tasks have no grid of their own and need all three lists.
Result<SweepGrid> SweepGridOf(const Options& o) {
  SweepGrid g;
  if (IsGlue(o.task)) {
    MBERT_ASSIGN_OR_RETURN(data::GlueTask task, data::FindGlueTask(o.task.substr(5)));
    g = GluePaperSweepGrid(task);
  } else if (o.sweep_lr.empty() || o.sweep_weight_decay.empty() || o.sweep_epochs.empty()) {
    return Status::Error("--sweep with --task " + o.task +
                         " needs --sweep-lr, --sweep-weight-decay and --sweep-epochs (only GLUE "
                         "tasks have a default grid, the ModernBERT paper's)");
  }
  if (!o.sweep_lr.empty()) g.lr = o.sweep_lr;
  if (!o.sweep_weight_decay.empty()) g.weight_decay = o.sweep_weight_decay;
  if (!o.sweep_epochs.empty()) g.epochs = o.sweep_epochs;
  return g;
}

int RunSweep(const Options& o, const SweepGrid& grid, const FineTuneData& train,
             const FineTuneData& dev) {
  auto r = RunFineTuneSweep(o.run, grid, train, dev);
  if (!r.ok()) return ReportError(r.status());
  const nlohmann::json& best = r->runs[r->best];
  std::cerr << "mbert finetune: best of " << r->runs.size()
            << " runs: " << best["run"].get<std::string>() << " (lr " << best["lr"]
            << ", weight decay " << best["weight_decay"] << ", " << best["epochs"]
            << " epochs), dev " << r->metric << " " << best["best_metric"] << "\n";
  const nlohmann::json out = {{"metric", r->metric},
                              {"runs", r->runs.size()},
                              {"best", best},
                              {"results", o.run.out_dir + "/sweep_results.json"},
                              {"best_model", o.run.out_dir + "/best"}};
  std::cout << out.dump(2) << "\n";
  return FlushOutput().ok() ? 0 : 1;
}

Result<data::TextDataset> ReadGlueAt(const data::GlueTask& task, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open");
  return data::ReadGlueFile(task, in, path);
}

// Reads train and dev for the task and tokenizes them.
Status LoadData(const Options& o, const Tokenizer& tok, FineTuneData* train, FineTuneData* dev) {
  const TokenizeOptions topts{o.max_length, o.truncate};
  if (IsGlue(o.task)) {
    MBERT_ASSIGN_OR_RETURN(data::GlueTask task, data::FindGlueTask(o.task.substr(5)));
    MBERT_ASSIGN_OR_RETURN(data::TextDataset tr, ReadGlueAt(task, o.train));
    MBERT_ASSIGN_OR_RETURN(data::TextDataset dv, ReadGlueAt(task, o.dev));
    MBERT_ASSIGN_OR_RETURN(*train, TokenizeTextData(tr, tok, topts));
    MBERT_ASSIGN_OR_RETURN(*dev, TokenizeTextData(dv, tok, topts));
    return Status::Ok();
  }
  if (o.task == "seqcls" || o.task == "regression") {
    data::TableOptions t;
    t.text_column = o.text_column;
    t.text_pair_column = o.text_pair_column;
    t.label_column = o.label_column;
    t.kind =
        o.task == "regression" ? data::LabelKind::kRegression : data::LabelKind::kClassification;
    MBERT_ASSIGN_OR_RETURN(data::TextDataset tr, data::ReadTable(o.train, t));
    t.labels = tr.labels.id2label();  // dev ids follow the training split's map
    auto dv = data::ReadTable(o.dev, t);
    if (!dv.ok()) return dv.status().Wrap("--dev (its labels must be among the training file's)");
    MBERT_ASSIGN_OR_RETURN(*train, TokenizeTextData(tr, tok, topts));
    MBERT_ASSIGN_OR_RETURN(*dev, TokenizeTextData(*dv, tok, topts));
    return Status::Ok();
  }
  if (o.task == "tokcls") {
    MBERT_ASSIGN_OR_RETURN(data::TaggedDataset tr, data::ReadConll(o.train, {}));
    data::ConllOptions c;
    c.labels = tr.labels.id2label();
    auto dv = data::ReadConll(o.dev, c);
    if (!dv.ok()) return dv.status().Wrap("--dev (its tags must be among the training file's)");
    MBERT_ASSIGN_OR_RETURN(*train, TokenizeTaggedData(tr, tok, topts));
    MBERT_ASSIGN_OR_RETURN(*dev, TokenizeTaggedData(*dv, tok, topts));
    return Status::Ok();
  }
  return Status::Error("--task '" + o.task +
                       "': expected glue:<sst2|cola|rte|mrpc|stsb>, seqcls, regression or tokcls");
}

int Run(Options o) {
  if (IsGlue(o.task) && o.run.metric.empty()) {
    auto task = data::FindGlueTask(o.task.substr(5));
    if (!task.ok()) return ReportError(task.status().Wrap("--task"));
    o.run.metric = GluePaperMetric(*task);
  }
  SweepGrid grid;
  if (o.sweep) {
    auto g = SweepGridOf(o);
    if (!g.ok()) return ReportError(g.status());
    grid = *g;
  }
  auto dir = hub::ResolveModelDir(o.run.model_dir);
  if (!dir.ok()) return ReportError(dir.status().Wrap("--model"));
  o.run.model_dir = *dir;
  auto cfg = ModelConfig::FromFile(o.run.model_dir + "/config.json");
  if (!cfg.ok()) return ReportError(cfg.status());
  if (o.max_length == 0) o.max_length = cfg->max_position_embeddings;
  if (o.max_length > cfg->max_position_embeddings)
    return ReportError(Status::Error("--max-length " + std::to_string(o.max_length) +
                                     " exceeds the model's " + "max_position_embeddings " +
                                     std::to_string(cfg->max_position_embeddings)));
  auto tok = Tokenizer::FromModelDir(o.run.model_dir);
  if (!tok.ok())
    return ReportError(tok.status().Wrap("--model (fine-tuning needs its tokenizer.json)"));
  FineTuneData train, dev;
  if (Status st = LoadData(o, *tok, &train, &dev); !st.ok()) return ReportError(st);
  if (train.truncated + dev.truncated > 0)
    std::cerr << "mbert finetune: truncated " << train.truncated << " training and "
              << dev.truncated << " dev examples to " << o.max_length << " tokens\n";
  o.run.progress = !o.quiet;
  if (o.sweep) return RunSweep(o, grid, train, dev);
  auto r = RunFineTune(o.run, train, dev);
  if (!r.ok()) return ReportError(r.status());
  const nlohmann::json out = {{"steps", r->steps},
                              {"metric", r->metric},
                              {"best_metric", r->best_metric},
                              {"best_step", r->best_step},
                              {"best_eval", r->best_eval},
                              {"early_stopped", r->early_stopped},
                              {"best_model", o.run.out_dir + "/best"}};
  std::cout << out.dump(2) << "\n";
  return FlushOutput().ok() ? 0 : 1;
}

}  // namespace

Subcommand AddFinetuneCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app =
      root.add_subcommand("finetune",
                          "fine-tune a model for sequence classification, regression or token "
                          "classification; the best dev checkpoint goes to <out>/best");
  app->add_option("-m,--model", o->run.model_dir, "starting checkpoint (HF directory or name)")
      ->required();
  app->add_option("--task", o->task,
                  "glue:sst2|glue:cola|glue:rte|glue:mrpc|glue:stsb, seqcls, regression, tokcls")
      ->required();
  app->add_option("--train", o->train, "training file")->required();
  app->add_option("--dev", o->dev, "dev file (scored for the best checkpoint)")->required();
  app->add_option("--out", o->run.out_dir, "output directory")->required();
  CLI::Option* lr =
      app->add_option("--lr", o->run.lr, "peak learning rate (linear warmup and decay)");
  CLI::Option* epochs =
      app->add_option("--epochs", o->run.epochs, "epochs")->check(CLI::Range(1, 1000));
  app->add_option("--batch-size", o->run.batch_size, "sequences per batch")
      ->check(CLI::Range(1, 1 << 20));
  app->add_option("--batch-tokens", o->run.batch_tokens,
                  "also bound each batch to this many tokens (0: no bound)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app->add_option("--warmup-ratio", o->run.warmup_ratio, "fraction of steps warming up");
  CLI::Option* weight_decay =
      app->add_option("--weight-decay", o->run.weight_decay, "AdamW decoupled weight decay");
  app->add_option("--max-grad-norm", o->run.max_grad_norm, "gradient clipping (<= 0: off)");
  app->add_option("--seed", o->run.seed, "seed of the data order and the new head's init");
  app->add_option("--max-length", o->max_length,
                  "longest example in tokens (0: the model's); longer ones are an error")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  app->add_flag("--truncate", o->truncate, "cut examples longer than --max-length");
  app->add_option("--eval-every", o->run.eval_every,
                  "evaluate on dev every N steps (0: at each epoch's end only)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app->add_option("--early-stopping", o->run.early_stopping,
                  "stop after N evaluations without improvement (0: off)")
      ->check(CLI::Range(0, 1 << 20));
  app->add_option("--metric", o->run.metric,
                  "dev metric choosing the best checkpoint (accuracy, f1, matthews, pearson, "
                  "spearman, entity_f1, token_accuracy; default: GLUE the paper's, else by "
                  "task type)");
  app->add_flag("--resume", o->run.resume, "continue from <out>/latest");
  app->add_option("--stop-after", o->run.stop_after,
                  "stop with a checkpoint after this many steps (resume later)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app->add_option("--text-column", o->text_column, "seqcls/regression: text column name");
  app->add_option("--text-pair-column", o->text_pair_column, "seqcls/regression: second text");
  app->add_option("--label-column", o->label_column, "seqcls/regression: label column name");
  CLI::Option* sweep =
      app->add_flag("--sweep", o->sweep,
                    "grid search lr x weight decay x epochs (GLUE: the ModernBERT paper's grid); "
                    "runs in <out>/sweep/, the best copied to <out>/best")
          ->excludes(lr)
          ->excludes(weight_decay)
          ->excludes(epochs);
  app->add_option("--sweep-lr", o->sweep_lr, "--sweep learning rates, e.g. 1e-5,3e-5")
      ->delimiter(',')
      ->needs(sweep);
  app->add_option("--sweep-weight-decay,--sweep-wd", o->sweep_weight_decay,
                  "--sweep weight decays, e.g. 1e-6,1e-5")
      ->delimiter(',')
      ->needs(sweep);
  app->add_option("--sweep-epochs", o->sweep_epochs, "--sweep epoch counts, e.g. 2,5,10")
      ->delimiter(',')
      ->needs(sweep);
  app->add_flag("-q,--quiet", o->quiet, "no progress bar");
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
