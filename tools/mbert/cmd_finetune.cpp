// mbert finetune: fine-tunes a checkpoint on a labelled task (finetune_run.h does the work).
//   mbert finetune --model DIR --task glue:sst2 --train SST-2/train.tsv --dev SST-2/dev.tsv
//                  --out runs/sst2 [--lr 8e-5 --epochs 2 --weight-decay 1e-5 ...]
// Tasks: glue:<name> (a GLUE file in the task's own layout, glue.h), seqcls (a TSV/CSV with a
// header: text [text_pair] label columns), regression (the same with a numeric label), tokcls
// (CoNLL: token ... tag per line, blank line between sentences). The best model by the dev
// metric is <out>/best; progress goes to stderr, one JSON summary to stdout.
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

namespace mbert::cli {

namespace {

struct Options {
  FineTuneRunOptions run;
  std::string task, train, dev, text_column, text_pair_column, label_column;
  int64_t max_length = 0;
  bool truncate = false;
  bool quiet = false;
};

Result<data::TextDataset> ReadGlueAt(const data::GlueTask& task, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open");
  return data::ReadGlueFile(task, in, path);
}

// Reads train and dev for the task and tokenizes them.
Status LoadData(const Options& o, const Tokenizer& tok, FineTuneData* train, FineTuneData* dev) {
  const TokenizeOptions topts{o.max_length, o.truncate};
  if (o.task.rfind("glue:", 0) == 0) {
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
  app->add_option("--lr", o->run.lr, "peak learning rate (linear warmup and decay)");
  app->add_option("--epochs", o->run.epochs, "epochs")->check(CLI::Range(1, 1000));
  app->add_option("--batch-size", o->run.batch_size, "sequences per batch")
      ->check(CLI::Range(1, 1 << 20));
  app->add_option("--batch-tokens", o->run.batch_tokens,
                  "also bound each batch to this many tokens (0: no bound)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app->add_option("--warmup-ratio", o->run.warmup_ratio, "fraction of steps warming up");
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
                  "spearman, entity_f1, token_accuracy; default by task)");
  app->add_flag("--resume", o->run.resume, "continue from <out>/latest");
  app->add_option("--stop-after", o->run.stop_after,
                  "stop with a checkpoint after this many steps (resume later)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app->add_option("--text-column", o->text_column, "seqcls/regression: text column name");
  app->add_option("--text-pair-column", o->text_pair_column, "seqcls/regression: second text");
  app->add_option("--label-column", o->label_column, "seqcls/regression: label column name");
  app->add_flag("-q,--quiet", o->quiet, "no progress bar");
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
