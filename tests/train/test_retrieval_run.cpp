// Retrieval fine-tuning (src/train/retrieval_run.h) on the tiny masked-LM test model with a tiny
// BEIR set written here: DPR and ColBERT runs lower the loss and write the sentence-transformers /
// PyLate layouts, an interrupted and resumed run ends with the same bytes as an uninterrupted one,
// and bad BEIR input is refused with an error naming the file and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/beir.h"
#include "train/retrieval_run.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string ModelDir() {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return std::string(d ? d : "tests/data") + "/tiny-mlm";
}

std::string Temp(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/retrieval_run_" + name;
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

// Eight topics, a query and a document each; qrels pair q<i> with d<i>.
std::string TinyBeir(const std::string& name) {
  const char* docs[] = {"cats purr and sleep all day", "rockets fly to space",
                        "bread is baked in hot ovens", "rivers flow down to the sea",
                        "guitars have six strings",    "snow falls in the winter",
                        "bees make sweet honey",       "trains run on steel rails"};
  const char* queries[] = {"what do cats do",      "how do rockets travel",   "where is bread made",
                           "where do rivers go",   "how many guitar strings", "when does snow fall",
                           "what do bees produce", "what do trains run on"};
  const std::string dir = Temp(name);
  fs::create_directories(dir + "/qrels");
  std::string corpus, qs, qrels = "query-id\tcorpus-id\tscore\n";
  for (int i = 0; i < 8; ++i) {
    const std::string n = std::to_string(i);
    corpus += json{{"_id", "d" + n}, {"title", ""}, {"text", docs[i]}}.dump() + "\n";
    qs += json{{"_id", "q" + n}, {"text", queries[i]}}.dump() + "\n";
    qrels += "q" + n + "\td" + n + "\t1\n";
  }
  Write(dir + "/corpus.jsonl", corpus);
  Write(dir + "/queries.jsonl", qs);
  Write(dir + "/qrels/train.tsv", qrels);
  Write(dir + "/qrels/dev.tsv", qrels);
  return dir;
}

Tokenizer Tok() { return Tokenizer::FromModelDir(ModelDir()).value(); }

struct Data {
  RetrievalRunOptions r;
  RetrievalTrainData train;
  RetrievalDevData dev;
};

Data Load(RetrievalTask task, const std::string& beir, const std::string& hard_negatives = "") {
  Data d;
  const Tokenizer tok = Tok();
  if (task == RetrievalTask::kColbert) {
    d.r.format = ColbertFormat(tok, 8, 32).value();
  } else {
    d.r.format.task = RetrievalTask::kDpr;
    d.r.format.max_length = 32;
  }
  auto train_ds = data::ReadBeir(beir, "train");
  EXPECT_TRUE(train_ds.ok()) << train_ds.status().message();
  auto train = RetrievalTrainFromBeir(*train_ds, "train", tok, d.r.format, hard_negatives);
  EXPECT_TRUE(train.ok()) << train.status().message();
  auto dev = RetrievalDevFromBeir(data::ReadBeir(beir, "dev").value(), "dev", tok, d.r.format);
  EXPECT_TRUE(dev.ok()) << dev.status().message();
  d.train = std::move(*train);
  d.dev = std::move(*dev);
  return d;
}

FineTuneRunOptions Options(const std::string& out) {
  FineTuneRunOptions o;
  o.model_dir = ModelDir();
  o.out_dir = out;
  o.lr = 1e-3;
  o.epochs = 3;
  o.batch_size = 4;
  o.progress = false;
  return o;
}

// Mean loss of the first and of the last epoch's steps.
std::pair<double, double> FirstLastEpochLoss(const std::string& metrics) {
  std::map<int64_t, std::pair<double, int>> by_epoch;
  for (const json& j : Lines(metrics))
    if (j.contains("loss")) {
      auto& [sum, n] = by_epoch[j["epoch"].get<int64_t>()];
      sum += j["loss"].get<double>();
      ++n;
    }
  const auto& first = by_epoch.begin()->second;
  const auto& last = by_epoch.rbegin()->second;
  return {first.first / first.second, last.first / last.second};
}

TEST(RetrievalRun, DprLearnsAndSavesSentenceTransformersLayout) {
  const std::string beir = TinyBeir("dpr_data");
  // Hard negatives: each query's next topic.
  std::string triples = "query-id\tpositive-id\tnegative-id\n";
  // Appended piecewise: GCC 12's -Wrestrict misfires on "q" + std::to_string(i) (PR 105329).
  for (int i = 0; i < 8; ++i) {
    const std::string n = std::to_string(i), next = std::to_string((i + 1) % 8);
    triples += 'q';
    triples += n;
    triples += "\td";
    triples += n;
    triples += "\td";
    triples += next;
    triples += '\n';
  }
  Write(beir + "/hard.tsv", triples);
  const Data d = Load(RetrievalTask::kDpr, beir, beir + "/hard.tsv");
  EXPECT_TRUE(d.train.hard_negatives);
  ASSERT_EQ(d.train.examples.size(), 8u);
  const std::string out = Temp("dpr");
  auto r = RunRetrievalFineTune(Options(out), d.r, d.train, d.dev);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->metric, "ndcg@10");
  EXPECT_EQ(r->steps, 6);
  const auto [first, last] = FirstLastEpochLoss(out + "/metrics.jsonl");
  EXPECT_LT(last, 0.5 * first) << first << " -> " << last;
  EXPECT_GT(r->best_metric, 0.5);

  const std::string best = out + "/best";
  for (const char* f :
       {"config.json", "model.safetensors", "tokenizer.json", "modules.json",
        "sentence_bert_config.json", "1_Pooling/config.json", "config_sentence_transformers.json"})
    EXPECT_TRUE(fs::exists(best + "/" + f)) << f;
  const json modules = json::parse(Slurp(best + "/modules.json"));
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[0]["type"], "sentence_transformers.models.Transformer");
  EXPECT_EQ(modules[0]["path"], "");
  EXPECT_EQ(modules[1]["type"], "sentence_transformers.models.Pooling");
  EXPECT_EQ(modules[1]["path"], "1_Pooling");
  EXPECT_EQ(json::parse(Slurp(best + "/sentence_bert_config.json"))["max_seq_length"], 32);
  const json pooling = json::parse(Slurp(best + "/1_Pooling/config.json"));
  EXPECT_EQ(pooling["pooling_mode_mean_tokens"], true);
  EXPECT_EQ(pooling["pooling_mode_cls_token"], false);
  EXPECT_EQ(pooling["word_embedding_dimension"], 64);
  EXPECT_EQ(json::parse(Slurp(best + "/config_sentence_transformers.json"))["similarity_fn_name"],
            "cosine");
  EXPECT_EQ(json::parse(Slurp(best + "/config.json"))["architectures"][0], "ModernBertModel");
}

TEST(RetrievalRun, ColbertLearnsAndSavesPylateLayout) {
  const std::string beir = TinyBeir("colbert_data");
  const Data d = Load(RetrievalTask::kColbert, beir);
  const Tokenizer tok = Tok();
  // "[Q] " / "[D] " are new tokens right after the tokenizer's vocabulary.
  EXPECT_EQ(d.r.format.query_prefix, static_cast<int32_t>(tok.vocab_size()));
  EXPECT_EQ(d.r.format.document_prefix, d.r.format.query_prefix + 1);
  ASSERT_EQ(d.train.queries[0].size(), 8u);  // [MASK]-expanded to the query length
  EXPECT_EQ(d.train.queries[0][1], d.r.format.query_prefix);
  EXPECT_EQ(d.train.documents[0][1], d.r.format.document_prefix);
  const std::string out = Temp("colbert");
  auto r = RunRetrievalFineTune(Options(out), d.r, d.train, d.dev);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto [first, last] = FirstLastEpochLoss(out + "/metrics.jsonl");
  EXPECT_LT(last, 0.5 * first) << first << " -> " << last;
  EXPECT_GT(r->best_metric, 0.5);

  const std::string best = out + "/best";
  for (const char* f :
       {"config.json", "model.safetensors", "tokenizer.json", "modules.json", "1_Dense/config.json",
        "1_Dense/model.safetensors", "config_sentence_transformers.json"})
    EXPECT_TRUE(fs::exists(best + "/" + f)) << f;
  const json modules = json::parse(Slurp(best + "/modules.json"));
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[1]["type"], "pylate.models.Dense.Dense");
  EXPECT_EQ(modules[1]["path"], "1_Dense");
  const json dense = json::parse(Slurp(best + "/1_Dense/config.json"));
  EXPECT_EQ(dense["in_features"], 64);
  EXPECT_EQ(dense["out_features"], 128);
  EXPECT_EQ(dense["bias"], false);
  const json st = json::parse(Slurp(best + "/config_sentence_transformers.json"));
  EXPECT_EQ(st["query_prefix"], "[Q] ");
  EXPECT_EQ(st["document_prefix"], "[D] ");
  EXPECT_EQ(st["query_length"], 8);
  EXPECT_EQ(st["document_length"], 32);
  EXPECT_EQ(st["attend_to_expansion_tokens"], true);
  EXPECT_EQ(st["do_query_expansion"], true);
  EXPECT_EQ(st["similarity_fn_name"], "MaxSim");
  // The saved vocabulary holds the prefix tokens, in the model and in the tokenizer.
  EXPECT_EQ(json::parse(Slurp(best + "/config.json"))["vocab_size"],
            d.r.format.document_prefix + 1);
  auto saved_tok = Tokenizer::FromModelDir(best);
  ASSERT_TRUE(saved_tok.ok()) << saved_tok.status().message();
  EXPECT_EQ(saved_tok->TokenToId("[Q] "), d.r.format.query_prefix);
  EXPECT_EQ(saved_tok->TokenToId("[D] "), d.r.format.document_prefix);
  // A PyLate model as the start keeps its ids.
  auto again = ColbertFormat(*saved_tok, 8, 32);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->query_prefix, d.r.format.query_prefix);
}

TEST(RetrievalRun, ResumeEqualsUninterrupted) {
  const std::string beir = TinyBeir("resume_data");
  for (RetrievalTask task : {RetrievalTask::kDpr, RetrievalTask::kColbert}) {
    const Data d = Load(task, beir);
    const std::string name = task == RetrievalTask::kDpr ? "dpr" : "colbert";
    FineTuneRunOptions a = Options(Temp("resume_a_" + name));
    a.epochs = 2;
    a.eval_every = 3;
    ASSERT_TRUE(RunRetrievalFineTune(a, d.r, d.train, d.dev).ok());
    FineTuneRunOptions b = a;
    b.out_dir = Temp("resume_b_" + name);
    b.stop_after = 1;
    auto part = RunRetrievalFineTune(b, d.r, d.train, d.dev);
    ASSERT_TRUE(part.ok()) << part.status().message();
    EXPECT_EQ(part->steps, 1);
    b.stop_after = 0;
    b.resume = true;
    auto rest = RunRetrievalFineTune(b, d.r, d.train, d.dev);
    ASSERT_TRUE(rest.ok()) << rest.status().message();
    EXPECT_EQ(rest->steps, 4);
    const std::string ca = a.out_dir + "/" + Slurp(a.out_dir + "/latest");
    const std::string cb = b.out_dir + "/" + Slurp(b.out_dir + "/latest");
    std::vector<std::string> files = {"model.safetensors", "optimizer.safetensors"};
    if (task == RetrievalTask::kColbert) files.push_back("1_Dense/model.safetensors");
    for (const std::string& f : files) {
      EXPECT_EQ(Slurp(ca + "/" + f), Slurp(cb + "/" + f)) << name << " " << f;
      EXPECT_EQ(Slurp(a.out_dir + "/best/" + f), Slurp(b.out_dir + "/best/" + f))
          << name << " best/" << f;
    }
    // The same steps, losses and evaluations (tokens_per_s is a timing, not the same bytes).
    const std::vector<json> la = Lines(a.out_dir + "/metrics.jsonl"),
                            lb = Lines(b.out_dir + "/metrics.jsonl");
    ASSERT_EQ(la.size(), lb.size());
    for (size_t i = 0; i < la.size(); ++i) {
      EXPECT_EQ(la[i]["step"], lb[i]["step"]);
      EXPECT_EQ(la[i].value("loss", 0.0), lb[i].value("loss", 0.0));
      EXPECT_EQ(la[i].value("eval", json()), lb[i].value("eval", json()));
    }
  }
}

TEST(RetrievalRun, BadBeirInputNamesFileAndLine) {
  const std::string beir = TinyBeir("bad_data");
  fs::remove(beir + "/qrels/train.tsv");
  auto missing = data::ReadBeir(beir, "train");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(beir + "/qrels/train.tsv: cannot open"),
            std::string::npos)
      << missing.status().message();

  Write(beir + "/qrels/train.tsv", "query-id\tcorpus-id\tscore\nq0\td0\t1\nq1\td99\t1\n");
  auto unknown = data::ReadBeir(beir, "train");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find(beir + "/qrels/train.tsv:3: document 'd99'"),
            std::string::npos)
      << unknown.status().message();

  Write(beir + "/qrels/train.tsv", "q0\td0\t1\nq1\td1\t1\n");
  Write(beir + "/hard.tsv", "q0\td0\td1\nq1\td0\td2\n");  // d0 is not relevant to q1
  const Tokenizer tok = Tok();
  RetrievalFormat f;
  f.max_length = 32;
  auto bad = RetrievalTrainFromBeir(data::ReadBeir(beir, "train").value(), "train.tsv", tok, f,
                                    beir + "/hard.tsv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(beir + "/hard.tsv:2:"), std::string::npos)
      << bad.status().message();
  Write(beir + "/hard.tsv", "q0\td0\td404\n");
  bad = RetrievalTrainFromBeir(data::ReadBeir(beir, "train").value(), "train.tsv", tok, f,
                               beir + "/hard.tsv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(beir + "/hard.tsv:1:"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("d404"), std::string::npos);
}

}  // namespace
}  // namespace mbert
