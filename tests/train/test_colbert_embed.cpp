// ColBERT inference (ColbertEmbed, src/tasks) on a tiny ColBERT model fine-tuned here by
// `RunRetrievalFineTune`: its token vectors are the training code's (the objective's fp32
// vectors within 1e-6; the dev evaluation's path bitwise), every vector has unit norm, a query
// has exactly query_length vectors, a document loses its punctuation tokens, and MaxSim scores
// from these vectors are the dev evaluation's.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "data/beir.h"
#include "eval/exact_search.h"
#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"
#include "model/colbert.h"
#include "model/encoder.h"
#include "model/forward_context.h"
#include "train/retrieval_objectives.h"
#include "train/retrieval_run.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string ModelDir() {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return std::string(d ? d : "tests/data") + "/tiny-mlm";
}

const char* kDocs[] = {"cats purr, and sleep all day.", "rockets fly to space!",
                       "bread is baked in hot ovens", "rivers flow (down) to the sea"};
const char* kQueries[] = {"what do cats do", "how do rockets travel", "where is bread made",
                          "where do rivers go, and why do they flow so far downhill"};

// A ColBERT model fine-tuned once for all tests: query length 8, document length 32.
const std::string& Trained() {
  static const std::string best = [] {
    const std::string root = ::testing::TempDir() + "/colbert_embed";
    fs::remove_all(root);
    fs::create_directories(root + "/beir/qrels");
    std::ofstream corpus(root + "/beir/corpus.jsonl"), queries(root + "/beir/queries.jsonl"),
        qrels(root + "/beir/qrels/train.tsv");
    qrels << "query-id\tcorpus-id\tscore\n";
    for (int i = 0; i < 4; ++i) {
      const std::string n = std::to_string(i);
      corpus << json{{"_id", "d" + n}, {"title", ""}, {"text", kDocs[i]}}.dump() << "\n";
      queries << json{{"_id", "q" + n}, {"text", kQueries[i]}}.dump() << "\n";
      qrels << "q" << n << "\td" << n << "\t1\n";
    }
    corpus.close();
    queries.close();
    qrels.close();
    const Tokenizer tok = Tokenizer::FromModelDir(ModelDir()).value();
    RetrievalRunOptions r;
    r.format = ColbertFormat(tok, 8, 32).value();
    const data::BeirDataset ds = data::ReadBeir(root + "/beir", "train").value();
    const RetrievalTrainData train = RetrievalTrainFromBeir(ds, "train", tok, r.format).value();
    const RetrievalDevData dev = RetrievalDevFromBeir(ds, "dev", tok, r.format).value();
    FineTuneRunOptions o;
    o.model_dir = ModelDir();
    o.out_dir = root + "/run";
    o.lr = 1e-3;
    o.epochs = 1;
    o.batch_size = 2;
    o.progress = false;
    auto res = RunRetrievalFineTune(o, r, train, dev);
    EXPECT_TRUE(res.ok()) << res.status().message();
    return o.out_dir + "/best";
  }();
  return best;
}

std::vector<Input> Texts(const char* const* texts, int n) {
  std::vector<Input> in;
  for (int i = 0; i < n; ++i) in.push_back(Input::Text(texts[i]));
  return in;
}

// What the training side computes for the saved model: its ids (RetrievalIds), the encoder's
// hidden states, the objective's vectors and the dev evaluation's.
struct TrainSide {
  std::vector<std::vector<int32_t>> queries, docs;
  std::vector<float> objective;                    // (N, dim): queries then documents, every token
  std::vector<int64_t> begin;                      // first row of each sequence in `objective`
  std::vector<std::vector<float>> eval_q, eval_d;  // the dev evaluation's per-text vectors
  std::set<int32_t> skip;
};

TrainSide ComputeTrainSide(const std::string& dir) {
  TrainSide t;
  const Tokenizer tok = Tokenizer::FromModelDir(dir).value();
  const RetrievalFormat f = ColbertFormat(tok, 8, 32).value();
  for (int i = 0; i < 4; ++i) {
    t.queries.push_back(RetrievalIds(tok, f, kQueries[i], true).value());
    t.docs.push_back(RetrievalIds(tok, f, kDocs[i], false).value());
  }
  t.skip = ColbertSkiplistIds(tok, ColbertPunctuation());
  Encoder enc = Encoder::Load(dir).value();
  SafetensorsFile dense = SafetensorsFile::Open(dir + "/1_Dense/model.safetensors").value();
  const TensorView* w = dense.Find("linear.weight");
  Tensor proj(w->shape);
  EXPECT_TRUE(ConvertToFloat(*w, proj.data(), "dense").ok());
  std::vector<std::vector<int32_t>> seqs = t.queries;
  seqs.insert(seqs.end(), t.docs.begin(), t.docs.end());
  TaskBatch b;
  b.packed = PackedBatch::FromSequences(seqs);
  b.columns = 2;
  ForwardContext ctx;
  std::vector<float> hidden;
  EXPECT_TRUE(enc.Forward(b.packed, ctx, &hidden).ok());
  ColbertOptions co;
  co.dim = proj.dim(0);
  co.skiplist = t.skip;
  ColbertObjective obj(co, std::move(proj));
  const Tensor& P = obj.extra_params()->at(ColbertObjective::kProjection);
  EXPECT_TRUE(obj.Run(enc, b, hidden, 1.0f, nullptr, nullptr).ok());
  t.objective = obj.token_vectors();
  const int64_t C = enc.config().hidden_size;
  const std::set<int32_t> none;
  for (int s = 0; s < b.packed.num_seqs(); ++s) {
    t.begin.push_back(b.packed.seq_begin(s));
    std::vector<float> v;
    AppendColbertVectors(hidden.data() + static_cast<int64_t>(b.packed.seq_begin(s)) * C,
                         seqs[static_cast<size_t>(s)].data(), b.packed.seq_len(s), C, P,
                         s < 4 ? none : t.skip, &v);
    (s < 4 ? t.eval_q : t.eval_d).push_back(std::move(v));
  }
  return t;
}

TEST(ColbertEmbed, TokenVectorsAreTheTrainingCodes) {
  auto model = Model::Load(Trained());
  ASSERT_TRUE(model.ok()) << model.status().message();
  const ModelInfo& info = model.value()->info();
  ASSERT_TRUE(info.colbert);
  EXPECT_EQ(info.colbert_dim, 128);
  EXPECT_EQ(info.colbert_query_length, 8);
  EXPECT_EQ(info.colbert_document_length, 32);
  Context ctx(model.value());
  auto q = ColbertEmbed(ctx, Texts(kQueries, 4), ColbertRole::kQuery);
  ASSERT_TRUE(q.ok()) << q.status().message();
  // The last query has more than 8 - 3 tokens: cut, and reported.
  ASSERT_EQ(ctx.truncated().size(), 1u);
  EXPECT_EQ(ctx.truncated()[0].input, 3u);
  EXPECT_EQ(ctx.truncated()[0].length, 8);
  auto d = ColbertEmbed(ctx, Texts(kDocs, 4), ColbertRole::kDocument);
  ASSERT_TRUE(d.ok()) << d.status().message();

  const TrainSide t = ComputeTrainSide(Trained());
  int dropped = 0;
  for (int i = 0; i < 4; ++i) {
    const Matrix& qm = (*q)[static_cast<size_t>(i)];
    ASSERT_EQ(qm.rows, 8) << "query " << i;  // [MASK]-expanded to the query length
    ASSERT_EQ(qm.dim, 128);
    EXPECT_EQ(qm.values, t.eval_q[static_cast<size_t>(i)]) << "query " << i;
    for (int64_t r = 0; r < qm.rows; ++r)
      for (int64_t k = 0; k < 128; ++k)
        ASSERT_NEAR(qm.row(r)[k], t.objective[(t.begin[i] + r) * 128 + k], 1e-6) << i;
    const Matrix& dm = (*d)[static_cast<size_t>(i)];
    EXPECT_EQ(dm.values, t.eval_d[static_cast<size_t>(i)]) << "document " << i;
    // The objective's rows of this document without its punctuation tokens.
    const std::vector<int32_t>& ids = t.docs[static_cast<size_t>(i)];
    int64_t r = 0;
    for (size_t j = 0; j < ids.size(); ++j) {
      if (t.skip.count(ids[j])) {
        ++dropped;
        continue;
      }
      ASSERT_LT(r, dm.rows);
      for (int64_t k = 0; k < 128; ++k)
        ASSERT_NEAR(dm.row(r)[k], t.objective[(t.begin[4 + i] + static_cast<int64_t>(j)) * 128 + k],
                    1e-6)
            << "document " << i << " token " << j;
      ++r;
    }
    EXPECT_EQ(r, dm.rows);
    for (const Matrix* m : {&qm, &dm})
      for (int64_t row = 0; row < m->rows; ++row) {
        double n = 0.0;
        for (int64_t k = 0; k < m->dim; ++k)
          n += static_cast<double>(m->row(row)[k]) * m->row(row)[k];
        EXPECT_NEAR(std::sqrt(n), 1.0, 1e-6);
      }
  }
  // ",", ".", "!" and ")" are skiplist tokens; " (" (with its space) is another token and stays,
  // as in PyLate: the skiplist was exercised.
  EXPECT_EQ(dropped, 4);
}

TEST(ColbertEmbed, MaxSimScoresAreTheDevEvaluations) {
  auto model = Model::Load(Trained()).value();
  Context ctx(model);
  const std::vector<Matrix> q = ColbertEmbed(ctx, Texts(kQueries, 4), ColbertRole::kQuery).value();
  const std::vector<Matrix> d = ColbertEmbed(ctx, Texts(kDocs, 4), ColbertRole::kDocument).value();
  const TrainSide t = ComputeTrainSide(model->info().path);
  std::vector<float> docs, eval_docs;
  std::vector<int64_t> off = {0}, eval_off = {0};
  for (int i = 0; i < 4; ++i) {
    docs.insert(docs.end(), d[i].values.begin(), d[i].values.end());
    off.push_back(off.back() + d[i].rows);
    eval_docs.insert(eval_docs.end(), t.eval_d[i].begin(), t.eval_d[i].end());
    eval_off.push_back(eval_off.back() + static_cast<int64_t>(t.eval_d[i].size()) / 128);
  }
  for (int i = 0; i < 4; ++i) {
    const auto hits = eval::MaxSimTopK(q[i].values.data(), q[i].rows, docs.data(), off, 128, 4);
    const auto want = eval::MaxSimTopK(t.eval_q[i].data(), 8, eval_docs.data(), eval_off, 128, 4);
    ASSERT_EQ(hits.size(), 4u);
    ASSERT_EQ(want.size(), 4u);
    for (size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(hits[k].doc, want[k].doc);
      EXPECT_EQ(hits[k].score, want[k].score);
      // MaxSim by its definition, in double, from the inference vectors.
      const Matrix& dm = d[static_cast<size_t>(hits[k].doc)];
      double s = 0.0;
      for (int64_t a = 0; a < q[i].rows; ++a) {
        double best = -2.0;
        for (int64_t b = 0; b < dm.rows; ++b) {
          double dot = 0.0;
          for (int64_t c = 0; c < 128; ++c)
            dot += static_cast<double>(q[i].row(a)[c]) * dm.row(b)[c];
          best = std::max(best, dot);
        }
        s += best;
      }
      EXPECT_NEAR(hits[k].score, s, 1e-4);
    }
  }
}

TEST(ColbertEmbed, PooledVectorOnlyWhenAskedAndPlainModelsRefuse) {
  auto model = Model::Load(Trained()).value();
  Context ctx(model);
  auto pooled = Embed(ctx, {Input::Text("cats")});
  ASSERT_FALSE(pooled.ok());
  EXPECT_NE(pooled.status().message().find("ColBERT"), std::string::npos);
  EmbedOptions mean;
  mean.pooling = EmbedPooling::kMean;
  auto asked = Embed(ctx, {Input::Text("cats")}, mean);
  ASSERT_TRUE(asked.ok()) << asked.status().message();
  EXPECT_EQ(asked->dim, 64);  // the encoder's hidden states: no projection
  auto ids = ColbertEmbed(ctx, {Input::Ids({1, 2, 3})}, ColbertRole::kQuery);
  EXPECT_FALSE(ids.ok());

  auto plain = Model::Load(ModelDir()).value();
  EXPECT_FALSE(plain->info().colbert);
  Context pctx(plain);
  auto r = ColbertEmbed(pctx, {Input::Text("cats")}, ColbertRole::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a ColBERT"), std::string::npos);
  EXPECT_TRUE(Embed(pctx, {Input::Text("cats")}).ok());
}

}  // namespace
}  // namespace mbert
