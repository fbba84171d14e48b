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
// Retrieval: --task dpr|colbert --train BEIR_DIR|pairs.jsonl --dev BEIR_DIR (retrieval_run.h);
// --train-split/--dev-split name the qrels files, --hard-negatives a TSV of id triples.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/file_io.h"
#include "data/beir.h"
#include "data/conll.h"
#include "data/glue.h"
#include "data/table_reader.h"
#include "hub/hub.h"
#include "model/config.h"
#include "runner.h"
#include "train/finetune_run.h"
#include "train/finetune_sweep.h"
#include "train/glue_recipe.h"
#include "train/retrieval_run.h"

namespace mbert::cli {

namespace {

namespace fs = std::filesystem;

struct Options {
  FineTuneRunOptions run;
  std::string task, train, dev, text_column, text_pair_column, label_column;
  int64_t max_length = 0;
  bool truncate = false;
  bool quiet = false;
  bool sweep = false;
  std::vector<double> sweep_lr, sweep_weight_decay;
  std::vector<int> sweep_epochs;
  std::string train_split = "train", dev_split = "dev", hard_negatives;
  int64_t query_length = 32;
};

bool IsRetrieval(const std::string& task) { return task == "dpr" || task == "colbert"; }

// Prints the run's summary (stdout, JSON).
int Report(const Options& o, const Result<FineTuneRunResult>& r) {
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

// --task dpr|colbert: the training data from a BEIR directory (its --train-split qrels, or the
// --hard-negatives triples) or a pairs/triples JSONL file; the dev split from a BEIR directory.
int RunRetrieval(Options o, const ModelConfig& cfg, const Tokenizer& tok) {
  if (o.sweep) return ReportError(Status::Error("--sweep is for classification tasks only"));
  if (o.truncate)
    std::cerr << "mbert finetune: retrieval always truncates to --max-length; --truncate is "
                 "implied\n";
  RetrievalRunOptions r;
  if (o.task == "colbert") {
    if (o.max_length == 0) o.max_length = 180;  // PyLate's document_length
    auto f = ColbertFormat(tok, o.query_length, o.max_length);
    if (!f.ok()) return ReportError(f.status());
    r.format = *f;
  } else {
    r.format.task = RetrievalTask::kDpr;
    r.format.max_length = o.max_length == 0 ? cfg.max_position_embeddings : o.max_length;
  }
  if (r.format.max_length > cfg.max_position_embeddings ||
      r.format.query_length > cfg.max_position_embeddings)
    return ReportError(
        Status::Error("--max-length/--query-length exceed the model's "
                      "max_position_embeddings " +
                      std::to_string(cfg.max_position_embeddings)));
  Result<RetrievalTrainData> train = Status::Error("no training data");
  if (fs::is_directory(o.train)) {
    auto ds = data::ReadBeir(o.train, o.train_split);
    if (!ds.ok()) return ReportError(ds.status().Wrap("--train"));
    train = RetrievalTrainFromBeir(*ds, o.train + "/qrels/" + o.train_split + ".tsv", tok, r.format,
                                   o.hard_negatives);
  } else {
    if (!o.hard_negatives.empty())
      return ReportError(Status::Error(
          "--hard-negatives names BEIR ids and needs --train to be a BEIR directory; a JSONL "
          "file gives its negatives in a \"negative\" field"));
    train = RetrievalTrainFromJsonl(o.train, tok, r.format);
  }
  if (!train.ok()) return ReportError(train.status().Wrap("--train"));
  auto dev_ds = data::ReadBeir(o.dev, o.dev_split);
  if (!dev_ds.ok()) return ReportError(dev_ds.status().Wrap("--dev"));
  auto dev = RetrievalDevFromBeir(*dev_ds, o.dev + "/qrels/" + o.dev_split + ".tsv", tok, r.format);
  if (!dev.ok()) return ReportError(dev.status().Wrap("--dev"));
  o.run.progress = !o.quiet;
  return Report(o, RunRetrievalFineTune(o.run, r, *train, *dev));
}

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
  if (IsRetrieval(o.task)) {
    auto rtok = Tokenizer::FromModelDir(o.run.model_dir);
    if (!rtok.ok())
      return ReportError(rtok.status().Wrap("--model (fine-tuning needs its tokenizer.json)"));
    return RunRetrieval(o, *cfg, *rtok);
  }
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
  return Report(o, RunFineTune(o.run, train, dev));
}

}  // namespace

Subcommand AddFinetuneCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app =
      root.add_subcommand("finetune",
                          "fine-tune a model for sequence classification, regression, token "
                          "classification or retrieval (DPR, ColBERT); the best dev checkpoint "
                          "goes to <out>/best");
  app->add_option("-m,--model", o->run.model_dir, "starting checkpoint (HF directory or name)")
      ->required();
  app->add_option("--task", o->task,
                  "glue:sst2|glue:cola|glue:rte|glue:mrpc|glue:stsb, seqcls, regression, tokcls, "
                  "dpr, colbert")
      ->required();
  app->add_option("--train", o->train,
                  "training file (dpr/colbert: a BEIR directory or a pairs/triples JSONL)")
      ->required();
  app->add_option("--dev", o->dev,
                  "dev file scored for the best checkpoint (dpr/colbert: a BEIR directory)")
      ->required();
  app->add_option("--train-split", o->train_split, "dpr/colbert: BEIR qrels of --train");
  app->add_option("--dev-split", o->dev_split, "dpr/colbert: BEIR qrels of --dev");
  app->add_option("--hard-negatives", o->hard_negatives,
                  "dpr/colbert: TSV of query-id, positive-id, negative-id (BEIR ids)");
  app->add_option("--query-length", o->query_length,
                  "colbert: query length ([MASK]-expanded, PyLate's query_length)")
      ->check(CLI::Range(int64_t{4}, int64_t{1} << 20));
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
                  "longest example in tokens (0: the model's; colbert: 180, documents); longer "
                  "ones are an error (dpr/colbert: truncated)")
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
                  "spearman, entity_f1, token_accuracy, ndcg@10, mrr@10, recall@100; default: "
                  "GLUE the paper's, retrieval ndcg@10, else by task type)");
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
