// The fine-tuning loop (src/train/finetune_run.h) on the tiny masked-LM test model (it has a real
// tokenizer), with small TSV / CoNLL files written here: the loss falls, an interrupted and
// resumed run ends with the same bytes as an uninterrupted one, best/ holds the model of the best
// dev evaluation recorded in metrics.jsonl, AdamW state round-trips, and bad input is refused
// with an error naming what to fix.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/conll.h"
#include "data/table_reader.h"
#include "model/encoder.h"
#include "train/adamw.h"
#include "train/classification_objectives.h"
#include "train/finetune_run.h"
#include "train/finetuner.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string ModelDir() {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return std::string(d ? d : "tests/data") + "/tiny-mlm";
}

std::string Temp(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/finetune_run_" + name;
  fs::remove_all(p);
  return p;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void Write(const std::string& path, const std::string& s) { std::ofstream(path) << s; }

std::vector<json> Lines(const std::string& path) {
  std::vector<json> out;
  std::istringstream in(Slurp(path));
  for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
  return out;
}

// A separable sentiment toy set: positive words vs negative words.
std::string SentimentTsv(int n, int offset) {
  const char* pos[] = {"great", "wonderful", "lovely", "excellent", "superb", "delightful"};
  const char* neg[] = {"awful", "terrible", "boring", "dreadful", "horrible", "dull"};
  std::string s = "sentence\tlabel\n";
  for (int i = 0; i < n; ++i) {
    const int k = (i + offset) % 6;
    if (i % 2 == 0)
      s += std::string("a ") + pos[k] + " film, " + pos[(k + 1) % 6] + " acting\tpos\n";
    else
      s += std::string("a ") + neg[k] + " film, " + neg[(k + 1) % 6] + " acting\tneg\n";
  }
  return s;
}

Tokenizer Tok() { return Tokenizer::FromModelDir(ModelDir()).value(); }

FineTuneData TableData(const std::string& path, const std::vector<std::string>& labels,
                       TokenizeOptions t = {}) {
  data::TableOptions o;
  o.labels = labels;
  auto ds = data::ReadTable(path, o);
  EXPECT_TRUE(ds.ok()) << ds.status().message();
  auto d = TokenizeTextData(*ds, Tok(), t);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return *d;
}

struct SeqClsFiles {
  FineTuneData train, dev;
};

SeqClsFiles SeqCls(const std::string& dir) {
  fs::create_directories(dir);
  Write(dir + "/train.tsv", SentimentTsv(12, 0));
  Write(dir + "/dev.tsv", SentimentTsv(6, 3));
  return {TableData(dir + "/train.tsv", {"neg", "pos"}),
          TableData(dir + "/dev.tsv", {"neg", "pos"})};
}

FineTuneRunOptions Opts(const std::string& out) {
  FineTuneRunOptions o;
  o.model_dir = ModelDir();
  o.out_dir = out;
  o.lr = 1e-3;
  o.epochs = 2;
  o.batch_size = 4;
  o.warmup_ratio = 0.1;
  o.weight_decay = 0.01;
  o.seed = 7;
  o.eval_every = 2;
  o.progress = false;
  return o;
}

TEST(FineTuneRun, FullBatchLossFalls) {
  const std::string dir = Temp("loss");
  SeqClsFiles d = SeqCls(dir);
  FineTuneRunOptions o = Opts(dir + "/out");
  o.batch_size = 64;  // every step sees the same full batch, so its loss must go down
  o.epochs = 8;
  o.warmup_ratio = 0;
  auto r = RunFineTune(o, d.train, d.dev);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<double> losses;
  for (const json& j : Lines(o.out_dir + "/metrics.jsonl"))
    if (j.contains("loss")) losses.push_back(j["loss"]);
  ASSERT_EQ(losses.size(), 8u);
  EXPECT_LT(losses.back(), 0.7 * losses.front()) << losses.front() << " -> " << losses.back();
  EXPECT_EQ(r->steps, 8);
}

TEST(FineTuneRun, ResumeEqualsUninterruptedRun) {
  const std::string dir = Temp("resume");
  SeqClsFiles d = SeqCls(dir);
  // 12 examples, batch 4, 2 epochs: 6 steps; evaluations at 2, 3 (epoch end), 4, 6.
  FineTuneRunOptions a = Opts(dir + "/a");
  ASSERT_TRUE(RunFineTune(a, d.train, d.dev).ok());
  FineTuneRunOptions b = Opts(dir + "/b");
  b.stop_after = 5;  // interrupted between evaluations, inside the second epoch
  auto first = RunFineTune(b, d.train, d.dev);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->steps, 5);
  EXPECT_EQ(Slurp(b.out_dir + "/latest"), "checkpoint-5");
  b.stop_after = 0;
  b.resume = true;
  auto second = RunFineTune(b, d.train, d.dev);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->steps, 6);
  // Bitwise: the same data order, the same fp32 weights and AdamW moments read back exactly, and
  // the same kernels on the same thread count give the same bytes.
  for (const char* f : {"checkpoint-6/model.safetensors", "checkpoint-6/optimizer.safetensors",
                        "best/model.safetensors", "best/config.json"})
    EXPECT_EQ(Slurp(a.out_dir + "/" + f), Slurp(b.out_dir + "/" + f)) << f;
  // metrics.jsonl: the resumed run repeats no step; every line equals the uninterrupted run's
  // except the timing.
  std::vector<json> la = Lines(a.out_dir + "/metrics.jsonl"),
                    lb = Lines(b.out_dir + "/metrics.jsonl");
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    la[i].erase("tokens_per_s");
    lb[i].erase("tokens_per_s");
    EXPECT_EQ(la[i], lb[i]) << "line " << i;
  }
  // Resuming with other options is refused.
  b.lr = 2e-3;
  auto bad = RunFineTune(b, d.train, d.dev);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("other options"), std::string::npos);
}

TEST(FineTuneRun, BestIsTheBestDevEvaluation) {
  const std::string dir = Temp("best");
  SeqClsFiles d = SeqCls(dir);
  FineTuneRunOptions o = Opts(dir + "/out");
  o.eval_every = 1;
  o.epochs = 3;
  auto r = RunFineTune(o, d.train, d.dev);
  ASSERT_TRUE(r.ok()) << r.status().message();
  double best = -1;
  int64_t best_step = -1;
  int evals = 0;
  for (const json& j : Lines(o.out_dir + "/metrics.jsonl")) {
    if (!j.contains("eval")) continue;
    ++evals;
    const double v = j["eval"]["accuracy"];
    if (v > best) {  // the first of equal scores wins, as the loop keeps it
      best = v;
      best_step = j["step"];
    }
    EXPECT_EQ(j["best"].get<bool>(), best_step == j["step"].get<int64_t>());
  }
  EXPECT_EQ(evals, 9);
  EXPECT_EQ(r->best_step, best_step);
  EXPECT_DOUBLE_EQ(r->best_metric, best);
  // best/ scored afresh gives the recorded accuracy.
  auto m = Encoder::Load(o.out_dir + "/best");
  ASSERT_TRUE(m.ok()) << m.status().message();
  SequenceClassificationObjective obj;
  auto opt = AdamW::Create({});
  auto ft = FineTuner::Create(&*m, &obj, &*opt, {});
  ASSERT_TRUE(ft.ok());
  TaskBatch b;
  std::vector<std::vector<int32_t>> seqs;
  for (const FineTuneExample& e : d.dev.examples) {
    seqs.push_back(e.ids);
    b.labels.push_back(e.label);
  }
  b.packed = PackedBatch::FromSequences(seqs);
  auto ev = ft->Evaluate(b);
  ASSERT_TRUE(ev.ok());
  EXPECT_DOUBLE_EQ(static_cast<double>(ev->correct) / static_cast<double>(ev->count), best);
  // config.json carries the label map and problem_type for transformers.
  const json cfg = json::parse(Slurp(o.out_dir + "/best/config.json"));
  EXPECT_EQ(cfg["architectures"][0], "ModernBertForSequenceClassification");
  EXPECT_EQ(cfg["id2label"]["0"], "neg");
  EXPECT_EQ(cfg["label2id"]["pos"], 1);
  EXPECT_EQ(cfg["problem_type"], "single_label_classification");
  EXPECT_TRUE(fs::exists(o.out_dir + "/best/tokenizer.json"));
}

TEST(FineTuneRun, EarlyStoppingStopsAfterNEvaluationsWithoutGain) {
  const std::string dir = Temp("early");
  SeqClsFiles d = SeqCls(dir);
  FineTuneRunOptions o = Opts(dir + "/out");
  o.eval_every = 1;
  o.epochs = 20;
  o.early_stopping = 2;
  auto r = RunFineTune(o, d.train, d.dev);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->early_stopped);
  // Stopped exactly 2 evaluations after the last improvement.
  std::vector<json> evals;
  for (const json& j : Lines(o.out_dir + "/metrics.jsonl"))
    if (j.contains("eval")) evals.push_back(j);
  ASSERT_GE(evals.size(), 3u);
  EXPECT_FALSE(evals[evals.size() - 1]["best"].get<bool>());
  EXPECT_FALSE(evals[evals.size() - 2]["best"].get<bool>());
  EXPECT_EQ(evals[evals.size() - 3]["step"].get<int64_t>(), r->best_step);
  EXPECT_LT(r->steps, 60);
}

TEST(FineTuneRun, RegressionAndTokenClassificationTrain) {
  const std::string dir = Temp("tasks");
  fs::create_directories(dir);
  std::string reg = "sentence\tlabel\n";
  for (int i = 0; i < 8; ++i)
    reg += std::string(i % 2 ? "a great great film" : "a dull film") + "\t" +
           (i % 2 ? "4.5" : "0.5") + "\n";
  Write(dir + "/reg.tsv", reg);
  data::TableOptions t;
  t.kind = data::LabelKind::kRegression;
  auto rd = data::ReadTable(dir + "/reg.tsv", t);
  ASSERT_TRUE(rd.ok()) << rd.status().message();
  auto rdata = TokenizeTextData(*rd, Tok(), {});
  ASSERT_TRUE(rdata.ok());
  FineTuneRunOptions o = Opts(dir + "/reg");
  o.batch_size = 8;
  o.epochs = 6;
  auto r = RunFineTune(o, *rdata, *rdata);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->metric, "pearson");
  EXPECT_EQ(json::parse(Slurp(o.out_dir + "/best/config.json"))["problem_type"], "regression");

  const std::string conll =
      "John B-PER\nlives O\nin O\nParis B-LOC\n\nMary B-PER\nvisited O\nLondon B-LOC\n\n"
      "Anne-Marie B-PER\nloves O\nNew B-LOC\nYork I-LOC\n\n";
  std::istringstream in(conll);
  auto tagged = data::ReadConll(in, "ner.conll", {});
  ASSERT_TRUE(tagged.ok());
  auto tdata = TokenizeTaggedData(*tagged, Tok(), {});
  ASSERT_TRUE(tdata.ok()) << tdata.status().message();
  // One labelled token per word, carrying that word's tag, the first token of a word.
  const FineTuneExample& e = tdata->examples[2];
  std::vector<int32_t> labelled;
  for (int32_t l : e.token_labels)
    if (l != -100) labelled.push_back(l);
  ASSERT_EQ(labelled.size(), 4u);  // Anne-Marie (several pieces), loves, New, York
  for (size_t w = 0; w < 4; ++w) EXPECT_EQ(labelled[w], tagged->sentences[2].tag_ids[w]);
  EXPECT_NE(e.token_labels[1], -100);  // token 0 is [CLS]; token 1 begins "Anne-Marie"
  EXPECT_EQ(e.token_labels[2], -100);  // ... and the next piece of it is not labelled
  FineTuneRunOptions to = Opts(dir + "/tok");
  to.batch_size = 8;
  to.epochs = 6;
  auto tr = RunFineTune(to, *tdata, *tdata);
  ASSERT_TRUE(tr.ok()) << tr.status().message();
  std::vector<double> losses;
  for (const json& j : Lines(to.out_dir + "/metrics.jsonl"))
    if (j.contains("loss")) losses.push_back(j["loss"]);
  EXPECT_LT(losses.back(), losses.front());
  const json cfg = json::parse(Slurp(to.out_dir + "/best/config.json"));
  EXPECT_EQ(cfg["architectures"][0], "ModernBertForTokenClassification");
  EXPECT_EQ(cfg["id2label"].size(), tagged->labels.size());
}

TEST(FineTuneRun, ClearErrors) {
  const std::string dir = Temp("errors");
  SeqClsFiles d = SeqCls(dir);
  // Too long without --truncate: names the file and line and both fixes.
  data::TableOptions t;
  auto ds = data::ReadTable(dir + "/train.tsv", t);
  ASSERT_TRUE(ds.ok());
  auto longer = TokenizeTextData(*ds, Tok(), {.max_length = 4, .truncate = false});
  ASSERT_FALSE(longer.ok());
  EXPECT_NE(longer.status().message().find("train.tsv:2"), std::string::npos)
      << longer.status().message();
  EXPECT_NE(longer.status().message().find("--truncate"), std::string::npos);
  auto cut = TokenizeTextData(*ds, Tok(), {.max_length = 4, .truncate = true});
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->truncated, 12);
  for (const FineTuneExample& e : cut->examples) EXPECT_EQ(e.ids.size(), 4u);

  FineTuneRunOptions o = Opts(dir + "/out");
  o.metric = "pearson";
  auto r = RunFineTune(o, d.train, d.dev);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("accuracy, f1, matthews"), std::string::npos);
  o.metric = "";
  o.lr = -1;
  EXPECT_NE(RunFineTune(o, d.train, d.dev).status().message().find("--lr"), std::string::npos);
  o.lr = 1e-3;
  o.resume = true;
  EXPECT_NE(RunFineTune(o, d.train, d.dev).status().message().find("no 'latest'"),
            std::string::npos);
}

TEST(AdamWState, SaveAndLoadContinueBitwise) {
  auto table = [](float base) {
    TensorTable t;
    t.emplace("w.weight", Tensor({3, 2}));
    t.emplace("w.bias", Tensor({2}));
    for (auto& [n, x] : t)
      for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = base + 0.1f * static_cast<float>(i);
    return t;
  };
  TensorTable pa = table(1.0f), pb = table(1.0f), g = table(-0.3f);
  auto a = AdamW::Create({.weight_decay = 0.1});
  auto b = AdamW::Create({.weight_decay = 0.1});
  a->Step(pa, g, 1e-2);
  a->Step(pa, g, 2e-2);
  b->Step(pb, g, 1e-2);
  b->Step(pb, g, 2e-2);
  const std::string path = Temp("adamw.safetensors");
  ASSERT_TRUE(a->SaveState(path).ok());
  auto c = AdamW::Create({.weight_decay = 0.1});
  ASSERT_TRUE(c->LoadState(path).ok());
  EXPECT_EQ(c->steps().at("w.weight"), 2);
  b->Step(pb, g, 3e-2);
  c->Step(pa, g, 3e-2);
  for (const auto& [n, x] : pa)
    for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(x.data()[i], pb.at(n).data()[i]) << n;
  // A file without the step counts is refused, naming the file.
  Write(path, "not safetensors");
  auto bad = c->LoadState(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find(path), std::string::npos);
}

}  // namespace
}  // namespace mbert
