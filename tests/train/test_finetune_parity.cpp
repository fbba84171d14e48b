// Fine-tuning parity with the Python tools (goldens from tools/golden/make_finetune_goldens.py on
// one tiny random ModernBERT, tests/data/tiny-finetune):
//   * 4 steps of transformers' Trainer step (torch AdamW fused, get_linear_schedule_with_warmup,
//     clip_grad_norm_ 1.0, Trainer.get_decay_parameter_names) for sequence classification with
//     cls and mean pooling, regression (num_labels 1, MSE) and token classification (-100
//     ignored): each step's lr, loss and pre-clip gradient norm, and every final parameter;
//   * DPR: sentence-transformers' MultipleNegativesRankingLoss (scale 20, a hard-negative column)
//     on one batch: loss, pooled embeddings, dLoss/dembeddings, every encoder gradient;
//   * ColBERT: PyLate's Contrastive loss with ColBERTScores: the MaxSim score matrix, loss, every
//     encoder gradient and the projection's gradient.
// Tolerances are those of test_train_parity (loss 1e-5 for one step, 1e-4 along a trajectory,
// gradients and parameters 1e-4 relative to the tensor's largest magnitude).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "core/safetensors.h"
#include "model/config.h"
#include "model/encoder.h"
#include "model/weights.h"
#include "train/adamw.h"
#include "train/classification_objectives.h"
#include "train/finetuner.h"
#include "train/hf_linear_schedule.h"
#include "train/retrieval_objectives.h"

namespace mbert {
namespace {

std::string Dir(const std::string& task) {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return std::string(d ? d : "tests/data") + "/tiny-finetune/" + task;
}

std::vector<float> Floats(const SafetensorsFile& f, const std::string& name) {
  const TensorView* v = f.Find(name);
  EXPECT_NE(v, nullptr) << name;
  if (!v) return {};
  std::vector<float> out(static_cast<size_t>(v->numel()));
  EXPECT_TRUE(ConvertToFloat(*v, out.data(), f.path()).ok());
  return out;
}

std::vector<int32_t> Ints(const SafetensorsFile& f, const std::string& name) {
  const TensorView* v = f.Find(name);
  EXPECT_NE(v, nullptr) << name;
  if (!v) return {};
  return ReadInt32(*v, f.path()).value();
}

Tensor TensorOf(const SafetensorsFile& f, const std::string& name) {
  const TensorView* v = f.Find(name);
  EXPECT_NE(v, nullptr) << name;
  Tensor t(v->shape);
  EXPECT_TRUE(ConvertToFloat(*v, t.data(), f.path()).ok());
  return t;
}

// Largest |a - b| relative to the reference tensor's largest magnitude.
double RelErr(const float* a, const std::vector<float>& b) {
  double err = 0.0, scale = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    err = std::max(err, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return scale > 0 ? err / scale : err;
}

SafetensorsFile Golden(const std::string& task) {
  auto g = SafetensorsFile::Open(Dir(task) + "/goldens.safetensors");
  EXPECT_TRUE(g.ok()) << g.status().message();
  return std::move(g).value();
}

// The task model: the shared encoder of base/ plus the golden's init.* (head) tensors, under the
// task's config.json.
Encoder TaskModel(const std::string& task, const SafetensorsFile& golden) {
  auto base_cfg = ModelConfig::FromFile(Dir("base") + "/config.json");
  EXPECT_TRUE(base_cfg.ok()) << base_cfg.status().message();
  auto params = LoadWeights(Dir("base"), base_cfg.value());
  EXPECT_TRUE(params.ok()) << params.status().message();
  TensorTable table = std::move(params).value();
  for (const TensorView& v : golden.tensors()) {
    if (v.name.rfind("init.", 0) == 0 && v.name != "init.projection.weight")
      table.insert_or_assign(v.name.substr(5), TensorOf(golden, v.name));
  }
  auto cfg = ModelConfig::FromFile(Dir(task) + "/config.json");
  EXPECT_TRUE(cfg.ok()) << cfg.status().message();
  auto m = Encoder::FromParams(cfg.value(), std::move(table));
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

PackedBatch Packed(const std::vector<int32_t>& ids, const std::vector<int32_t>& cu) {
  std::vector<std::vector<int32_t>> seqs;
  for (size_t s = 0; s + 1 < cu.size(); ++s)
    seqs.emplace_back(ids.begin() + cu[s], ids.begin() + cu[s + 1]);
  return PackedBatch::FromSequences(seqs);
}

void CheckTrajectory(const std::string& task, Objective* objective, bool regression) {
  SafetensorsFile g = Golden(task);
  Encoder model = TaskModel(task, g);
  for (const auto& [name, p] : model.params())
    EXPECT_EQ(TrainerDecays(name), Ints(g, "decays." + name).at(0) == 1) << name;
  AdamWConfig oc;
  oc.beta1 = Floats(g, "beta1")[0];
  oc.beta2 = Floats(g, "beta2")[0];
  oc.eps = Floats(g, "eps")[0];
  oc.weight_decay = Floats(g, "weight_decay")[0];
  auto opt = AdamW::Create(oc);
  ASSERT_TRUE(opt.ok()) << opt.status().message();
  FineTuneOptions fo;
  fo.max_grad_norm = Floats(g, "max_grad_norm")[0];
  auto ft = FineTuner::Create(&model, objective, &opt.value(), fo);
  ASSERT_TRUE(ft.ok()) << ft.status().message();
  const std::vector<float> losses = Floats(g, "losses"), norms = Floats(g, "grad_norms"),
                           lrs = Floats(g, "lrs");
  const double lr_max = Floats(g, "lr_max")[0];
  const auto warmup = static_cast<int64_t>(Floats(g, "warmup_steps")[0]);
  const auto total = static_cast<int64_t>(Floats(g, "total_steps")[0]);
  double max_loss_err = 0.0;
  for (size_t k = 0; k < losses.size(); ++k) {
    const std::string s = "step" + std::to_string(k) + ".";
    TaskBatch b;
    b.packed = Packed(Ints(g, s + "input_ids"), Ints(g, s + "cu_seqlens"));
    if (regression) {
      b.targets = Floats(g, s + "labels");
    } else {
      b.labels = Ints(g, s + "labels");
    }
    // lr_max is the file's float32 rounding of 2e-3 (a relative 5e-8 off Python's double).
    const double lr = lr_max * HfLinearScheduleMultiplier(static_cast<int64_t>(k), warmup, total);
    EXPECT_NEAR(lr, lrs[k], 1e-9) << "lr of step " << k;
    auto r = ft->Step(b, lr);
    ASSERT_TRUE(r.ok()) << r.status().message();
    // The first step's loss comes from identical weights (1e-5, as test_train_parity); later
    // steps compound rounding along the trajectory (1e-4, as its 10-step test).
    EXPECT_NEAR(r->loss, losses[k], k == 0 ? 1e-5 : 1e-4) << task << " step " << k;
    max_loss_err = std::max(max_loss_err, std::fabs(r->loss - losses[k]));
    EXPECT_NEAR(r->grad_norm / norms[k], 1.0, 1e-4) << task << " grad norm of step " << k;
  }
  double worst = 0.0;
  for (const auto& [name, p] : model.params()) {
    const double rel = RelErr(p.data(), Floats(g, "final." + name));
    EXPECT_LE(rel, 1e-4) << task << ": parameter " << name << " after the steps, rel err " << rel;
    worst = std::max(worst, rel);
  }
  std::printf("%s: max loss err %.3g, max final-parameter rel err %.3g\n", task.c_str(),
              max_loss_err, worst);
}

TEST(FinetuneParity, SequenceClassificationClsPoolingMatchesTrainer) {
  SequenceClassificationObjective o;
  CheckTrajectory("seqcls-cls", &o, false);
}

TEST(FinetuneParity, SequenceClassificationMeanPoolingMatchesTrainer) {
  SequenceClassificationObjective o;
  CheckTrajectory("seqcls-mean", &o, false);
}

TEST(FinetuneParity, RegressionMatchesTrainer) {
  SequenceClassificationObjective o;
  CheckTrajectory("regression", &o, true);
}

TEST(FinetuneParity, TokenClassificationMatchesTrainer) {
  TokenClassificationObjective o;
  CheckTrajectory("tokcls", &o, false);
}

void CheckEncoderGrads(const Encoder& model, const TensorTable& grads, const SafetensorsFile& g,
                       const std::string& what) {
  int checked = 0;
  double worst = 0.0;
  for (const auto& [name, t] : grads) {
    const std::vector<float> ref = Floats(g, "grad." + name);
    ASSERT_EQ(ref.size(), static_cast<size_t>(t.numel())) << name;
    const double rel = RelErr(t.data(), ref);
    EXPECT_LE(rel, 1e-4) << what << ": gradient of " << name << " rel err " << rel;
    worst = std::max(worst, rel);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(model.params().size()));
  std::printf("%s: max encoder-gradient rel err %.3g\n", what.c_str(), worst);
}

TEST(FinetuneParity, DprLossAndGradientsMatchSentenceTransformers) {
  SafetensorsFile g = Golden("dpr");
  Encoder model = TaskModel("dpr", g);
  DprOptions o;
  o.scale = Floats(g, "scale")[0];
  DprObjective objective(o);
  auto opt = AdamW::Create({});
  ASSERT_TRUE(opt.ok());
  auto ft = FineTuner::Create(&model, &objective, &opt.value());
  ASSERT_TRUE(ft.ok()) << ft.status().message();
  TaskBatch b;
  b.packed = Packed(Ints(g, "input_ids"), Ints(g, "cu_seqlens"));
  b.columns = 3;  // queries, positives, hard negatives
  auto r = ft->ComputeGradients(b);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NEAR(r->loss, Floats(g, "loss")[0], 1e-5);
  const double emb = RelErr(objective.embeddings().data(), Floats(g, "embeddings"));
  const double demb = RelErr(objective.embedding_grads().data(), Floats(g, "grad_embeddings"));
  EXPECT_LE(emb, 1e-4);
  EXPECT_LE(demb, 1e-4);
  std::printf("DPR: loss err %.3g, embeddings rel err %.3g, dembeddings rel err %.3g\n",
              std::fabs(r->loss - Floats(g, "loss")[0]), emb, demb);
  CheckEncoderGrads(model, ft->grads(), g, "DPR");
}

TEST(FinetuneParity, ColbertScoresLossAndGradientsMatchPyLate) {
  SafetensorsFile g = Golden("colbert");
  Encoder model = TaskModel("colbert", g);
  ColbertOptions o;
  o.dim = 128;
  o.document_length = Ints(g, "document_length")[0];
  ColbertObjective objective(o, TensorOf(g, "init.projection.weight"));
  auto opt = AdamW::Create({});
  ASSERT_TRUE(opt.ok());
  auto ft = FineTuner::Create(&model, &objective, &opt.value());
  ASSERT_TRUE(ft.ok()) << ft.status().message();
  TaskBatch b;
  b.packed = Packed(Ints(g, "input_ids"), Ints(g, "cu_seqlens"));
  b.columns = 3;
  auto r = ft->ComputeGradients(b);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NEAR(r->loss, Floats(g, "loss")[0], 1e-5);
  const std::vector<float> scores = Floats(g, "scores");
  ASSERT_EQ(objective.scores().size(), scores.size());
  const double serr = RelErr(objective.scores().data(), scores);
  EXPECT_LE(serr, 1e-5);
  std::printf("ColBERT: loss err %.3g, scores rel err %.3g\n",
              std::fabs(r->loss - Floats(g, "loss")[0]), serr);
  CheckEncoderGrads(model, ft->grads(), g, "ColBERT");
  const double rel = RelErr(objective.extra_grads()->at(ColbertObjective::kProjection).data(),
                            Floats(g, "grad.projection.weight"));
  EXPECT_LE(rel, 1e-4) << "projection gradient rel err " << rel;
  std::printf("ColBERT: projection gradient rel err %.3g\n", rel);
}

TEST(FinetuneParity, RefusesDropoutAndTheWrongArchitecture) {
  SafetensorsFile g = Golden("seqcls-cls");
  Encoder model = TaskModel("seqcls-cls", g);
  ModelConfig cfg = model.config();
  cfg.classifier_dropout = 0.1;  // dropout is not implemented: training must not ignore it
  TensorTable copy;
  for (const auto& [name, t] : model.params()) copy.emplace(name, t.Clone());
  auto dropped = Encoder::FromParams(cfg, std::move(copy));
  ASSERT_TRUE(dropped.ok()) << dropped.status().message();
  SequenceClassificationObjective seq;
  auto opt = AdamW::Create({});
  ASSERT_TRUE(opt.ok());
  auto ft = FineTuner::Create(&dropped.value(), &seq, &opt.value());
  ASSERT_FALSE(ft.ok());
  EXPECT_NE(ft.status().message().find("classifier_dropout"), std::string::npos)
      << ft.status().message();
  TokenClassificationObjective tok;
  auto wrong = FineTuner::Create(&model, &tok, &opt.value());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("ModernBertForTokenClassification"), std::string::npos);
}

TEST(FinetuneParity, ColbertIdsFollowPyLateTokenize) {
  // [CLS] [Q] t... [SEP] then [MASK] to the query length; truncated to fit with the prefix.
  EXPECT_EQ(ColbertQueryIds({10, 11}, 1, 2, 5, 4, 7),
            (std::vector<int32_t>{1, 5, 10, 11, 2, 4, 4}));
  EXPECT_EQ(ColbertDocumentIds({10, 11, 12, 13}, 1, 2, 6, 6),
            (std::vector<int32_t>{1, 6, 10, 11, 12, 2}));
}

}  // namespace
}  // namespace mbert
