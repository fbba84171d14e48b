// mbert eval: metrics of a model (or a baseline) on a GLUE task or a BEIR retrieval set, printed
// as one JSON object on stdout.
//   mbert eval --task rte --data ../shared/data/glue --split dev --model DIR
//   mbert eval --task rte --data ../shared/data/glue --split dev --baseline majority
//   mbert eval --task beir --data ../shared/data/beir-scifact --split test --model DIR
//   mbert eval --task beir --data ../shared/data/beir-scifact --split test --retriever bm25
// GLUE: the model's predictions (ClassifySequences; a regression head's single logit for STS-B)
// against the split's labels, with the task's metrics (accuracy, F1 + accuracy for MRPC, Matthews
// for CoLA, Pearson + Spearman for STS-B). BEIR: exact search over the whole corpus (documents
// as "title text"), cosine between Embed() vectors (MaxSim between ColbertEmbed() token vectors
// for a ColBERT model) or BM25, then nDCG@10, MRR@10, Recall@100.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "data/beir.h"
#include "data/glue.h"
#include "eval/bm25.h"
#include "eval/classification_metrics.h"
#include "eval/correlation.h"
#include "eval/exact_search.h"
#include "eval/majority.h"
#include "eval/ranking_metrics.h"
#include "runner.h"

namespace mbert::cli {

namespace {

struct EvalOptions {
  ModelOptions model;
  bool model_given = false;
  std::string task;
  std::string data;
  std::string split;
  std::string retriever = "dense";  // BEIR: dense (the model's embeddings) or bm25
  std::string baseline;             // GLUE: majority
  int64_t chunk = 256;              // texts per Embed/Classify call
};

nlohmann::json GlueMetrics(const data::GlueTask& task, const std::vector<int64_t>& pred,
                           const std::vector<double>& values, const data::TextDataset& ds) {
  nlohmann::json m;
  if (task.kind == data::LabelKind::kRegression) {
    std::vector<double> gold;
    for (const data::TextExample& e : ds.examples) gold.push_back(e.value);
    m["pearson"] = eval::Pearson(values, gold);
    m["spearman"] = eval::Spearman(values, gold);
    return m;
  }
  std::vector<int64_t> gold;
  for (const data::TextExample& e : ds.examples) gold.push_back(e.label_id);
  m["accuracy"] = eval::Accuracy(pred, gold);
  if (task.name == "MRPC") m["f1"] = eval::BinaryF1(pred, gold);
  if (task.name == "CoLA") m["matthews"] = eval::Matthews(pred, gold);
  return m;
}

std::vector<Input> Inputs(const data::TextDataset& ds, size_t b, size_t e) {
  std::vector<Input> in;
  for (size_t i = b; i < e; ++i) {
    const data::TextExample& x = ds.examples[i];
    in.push_back(ds.has_pair ? Input::Pair(x.text, x.text_pair) : Input::Text(x.text));
  }
  return in;
}

Result<nlohmann::json> RunGlue(const EvalOptions& o) {
  MBERT_ASSIGN_OR_RETURN(data::GlueTask task, data::FindGlueTask(o.task));
  MBERT_ASSIGN_OR_RETURN(data::TextDataset ds, data::ReadGlue(o.data, o.task, o.split));
  if (ds.examples.size() < 2) return Status::Error(ds.source + ": fewer than 2 examples");
  std::vector<int64_t> pred;
  std::vector<double> values;
  nlohmann::json out = {{"task", task.name}, {"split", o.split}, {"examples", ds.examples.size()}};
  if (o.baseline == "majority") {
    MBERT_ASSIGN_OR_RETURN(data::TextDataset train, data::ReadGlue(o.data, o.task, "train"));
    if (task.kind == data::LabelKind::kRegression)
      return Status::Error("--baseline majority needs a classification task; " + task.name +
                           " is regression");
    std::vector<int64_t> labels;
    for (const data::TextExample& e : train.examples) labels.push_back(e.label_id);
    const int64_t majority = eval::MajorityClass(labels);
    pred.assign(ds.examples.size(), majority);
    out["baseline"] = "majority";
    out["predicted_label"] = task.labels[static_cast<size_t>(majority)];
  } else if (!o.baseline.empty()) {
    return Status::Error("--baseline '" + o.baseline + "': the only baseline is 'majority'");
  } else {
    MBERT_ASSIGN_OR_RETURN(Context ctx, LoadContext(o.model));
    const ModelInfo& info = ctx.model().info();
    if (info.task != ModelTask::kSequenceClassification)
      return Status::Error(o.model.model_dir + ": eval --task " + task.name +
                           " needs a ModernBertForSequenceClassification checkpoint, this one is " +
                           info.architecture);
    const bool regression = task.kind == data::LabelKind::kRegression;
    if (regression ? info.labels.size() != 1 : info.labels.size() != task.labels.size())
      return Status::Error(o.model.model_dir + ": the model has " +
                           std::to_string(info.labels.size()) + " labels, " + task.name +
                           " needs " + std::to_string(regression ? 1 : task.labels.size()));
    for (size_t b = 0; b < ds.examples.size(); b += static_cast<size_t>(o.chunk)) {
      const size_t e = std::min(ds.examples.size(), b + static_cast<size_t>(o.chunk));
      MBERT_ASSIGN_OR_RETURN(std::vector<SequenceClassification> r,
                             ClassifySequences(ctx, Inputs(ds, b, e)));
      // Label ids are the model's; a model fine-tuned on this task uses the task's order
      // (glue.h), which is what `mbert finetune` writes into config.json.
      for (const SequenceClassification& c : r) {
        pred.push_back(c.label_id);
        values.push_back(c.logits.empty() ? 0.0 : c.logits[0]);
      }
    }
    out["model"] = o.model.model_dir;
  }
  out["metrics"] = GlueMetrics(task, pred, values, ds);
  return out;
}

// ColBERT: every query's token vectors against every document's by MaxSim, top 100.
Result<std::vector<std::vector<eval::Hit>>> MaxSimSearch(Context& ctx,
                                                         const std::vector<std::string>& queries,
                                                         const std::vector<std::string>& docs,
                                                         int64_t chunk) {
  auto encode = [&](const std::vector<std::string>& texts, ColbertRole role,
                    std::vector<float>* values, std::vector<int64_t>* offsets) -> Status {
    offsets->assign(1, 0);
    for (size_t b = 0; b < texts.size(); b += static_cast<size_t>(chunk)) {
      std::vector<Input> in;
      for (size_t i = b; i < std::min(texts.size(), b + static_cast<size_t>(chunk)); ++i)
        in.push_back(Input::Text(texts[i]));
      MBERT_ASSIGN_OR_RETURN(std::vector<Matrix> m, ColbertEmbed(ctx, in, role));
      for (const Matrix& x : m) {
        values->insert(values->end(), x.values.begin(), x.values.end());
        offsets->push_back(offsets->back() + x.rows);
      }
    }
    return Status::Ok();
  };
  std::vector<float> qv, dv;
  std::vector<int64_t> qoff, doff;
  MBERT_RETURN_IF_ERROR(encode(queries, ColbertRole::kQuery, &qv, &qoff));
  MBERT_RETURN_IF_ERROR(encode(docs, ColbertRole::kDocument, &dv, &doff));
  const int64_t dim = ctx.model().info().colbert_dim;
  std::vector<std::vector<eval::Hit>> hits;
  for (size_t i = 0; i < queries.size(); ++i)
    hits.push_back(eval::MaxSimTopK(qv.data() + qoff[i] * dim, qoff[i + 1] - qoff[i], dv.data(),
                                    doff, dim, 100));
  return hits;
}

// The metrics of `hits` against the qrels, into `out`.
Result<nlohmann::json> Finish(const data::BeirDataset& ds,
                              const std::vector<std::vector<eval::Hit>>& hits,
                              const std::vector<std::string>& query_ids,
                              const std::vector<std::string>& doc_ids, nlohmann::json out) {
  const eval::RunScores s = eval::EvaluateRun(ds.qrels, eval::AsRun(hits, query_ids, doc_ids));
  out["metrics"] = {{"ndcg@10", s.mean.ndcg10},
                    {"mrr@10", s.mean.mrr10},
                    {"recall@100", s.mean.recall100},
                    {"queries_evaluated", s.per_query.size()}};
  return out;
}

Result<nlohmann::json> RunBeir(const EvalOptions& o) {
  MBERT_ASSIGN_OR_RETURN(data::BeirDataset ds, data::ReadBeir(o.data, o.split));
  std::vector<std::string> doc_texts, doc_ids, query_ids;
  for (const data::BeirDoc& d : ds.corpus) {
    doc_texts.push_back(d.title.empty() ? d.text : d.title + " " + d.text);
    doc_ids.push_back(d.id);
  }
  for (const data::BeirQuery& q : ds.queries) query_ids.push_back(q.id);
  std::vector<std::vector<eval::Hit>> hits;
  nlohmann::json out = {{"task", "beir"},
                        {"data", o.data},
                        {"split", o.split},
                        {"documents", ds.corpus.size()},
                        {"queries", ds.queries.size()},
                        {"retriever", o.retriever}};
  if (o.retriever == "bm25") {
    const eval::Bm25Index index(doc_texts);
    for (const data::BeirQuery& q : ds.queries) hits.push_back(index.Search(q.text, 100));
    out["bm25"] = {{"k1", 0.9}, {"b", 0.4}, {"tokens", "lowercase word split"}};
  } else if (o.retriever == "dense") {
    MBERT_ASSIGN_OR_RETURN(Context ctx, LoadContext(o.model));
    std::vector<std::string> qtexts;
    for (const data::BeirQuery& q : ds.queries) qtexts.push_back(q.text);
    out["model"] = o.model.model_dir;
    if (ctx.model().info().colbert) {
      MBERT_ASSIGN_OR_RETURN(hits, MaxSimSearch(ctx, qtexts, doc_texts, o.chunk));
      out["similarity"] = "MaxSim";
      return Finish(ds, hits, query_ids, doc_ids, std::move(out));
    }
    auto embed = [&](const std::vector<std::string>& texts) -> Result<Matrix> {
      Matrix m;
      for (size_t b = 0; b < texts.size(); b += static_cast<size_t>(o.chunk)) {
        std::vector<Input> in;
        for (size_t i = b; i < std::min(texts.size(), b + static_cast<size_t>(o.chunk)); ++i)
          in.push_back(Input::Text(texts[i]));
        MBERT_ASSIGN_OR_RETURN(Matrix e, Embed(ctx, in));
        m.dim = e.dim;
        m.rows += e.rows;
        m.values.insert(m.values.end(), e.values.begin(), e.values.end());
      }
      return m;
    };
    MBERT_ASSIGN_OR_RETURN(Matrix docs, embed(doc_texts));
    MBERT_ASSIGN_OR_RETURN(Matrix queries, embed(qtexts));
    hits = eval::DenseTopK(queries.values.data(), queries.rows, docs.values.data(), docs.rows,
                           docs.dim, 100, eval::Similarity::kCosine);
  } else {
    return Status::Error("--retriever '" + o.retriever + "': expected dense or bm25");
  }
  return Finish(ds, hits, query_ids, doc_ids, std::move(out));
}

}  // namespace

Subcommand AddEvalCommand(CLI::App& root) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* app = root.add_subcommand(
      "eval", "metrics of a model or a baseline on a GLUE task or a BEIR retrieval set (JSON)");
  app->add_option("--task", o->task, "sst2, cola, rte, mrpc, stsb, or beir")->required();
  app->add_option("--data", o->data,
                  "the glue directory (holding SST-2/, CoLA/, ...) or a BEIR directory")
      ->required();
  app->add_option("--split", o->split,
                  "file name of the split (GLUE: e.g. dev; the official dev set is SST-2 test, "
                  "CoLA dev, RTE dev, MRPC test, STS-B test; BEIR: a qrels/<split>.tsv)")
      ->required();
  app->add_option("--retriever", o->retriever, "BEIR: dense (the model's embeddings) or bm25");
  app->add_option("--baseline", o->baseline, "GLUE: majority (the most frequent train label)");
  app->add_option("-m,--model", o->model.model_dir, "HF model directory");
  app->add_option("--max-length", o->model.max_length, "longest input in tokens (0: the model's)");
  app->add_flag("--truncate", o->model.truncate, "cut longer inputs instead of failing");
  app->add_option("--batch-tokens", o->model.batch_tokens, "tokens per packed forward");
  return {app, [o]() -> int {
            const bool beir = o->task == "beir";
            Result<nlohmann::json> r = beir ? RunBeir(*o) : RunGlue(*o);
            if (!r.ok()) return ReportError(r.status());
            std::cout << r->dump(2) << "\n";
            return FlushOutput().ok() ? 0 : 1;
          }};
}

}  // namespace mbert::cli
