// The public C++ API (include/mbert/): loading, the tasks against transformers' goldens, stage
// hooks and profiles through a Context, batching invariance, errors, and thread safety (threads
// sharing one Model, each with its own Context, give exactly the single-thread results).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <thread>

#include "../model/test_util.h"
#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"
#include "model/heads.h"
#include "tasks/model_impl.h"

namespace mbert {
namespace {

using testing::AllClose;
using testing::ReadFloats;

constexpr double kTol = 1e-4;  // the parity bar (design.md §5)

std::shared_ptr<const Model> LoadOrDie(const std::string& name) {
  auto m = Model::Load(testing::TestDataDir() + "/" + name);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? m.value() : nullptr;
}

// The golden batch's sequences as id inputs.
std::vector<Input> GoldenInputs(const testing::Golden& g) {
  std::vector<Input> in;
  for (int s = 0; s < g.batch.num_seqs(); ++s)
    in.push_back(Input::Ids(std::vector<int32_t>(
        g.batch.input_ids.begin() + g.batch.seq_begin(s),
        g.batch.input_ids.begin() + g.batch.seq_begin(s) + g.batch.seq_len(s))));
  return in;
}

TEST(Api, ModelInfo) {
  auto m = LoadOrDie("tiny-mlm");
  ASSERT_NE(m, nullptr);
  const ModelInfo& i = m->info();
  EXPECT_EQ(i.architecture, "ModernBertForMaskedLM");
  EXPECT_EQ(i.task, ModelTask::kFillMask);
  EXPECT_EQ(i.hidden_size, 64);
  EXPECT_EQ(static_cast<int>(i.layer_types.size()), i.num_layers);
  EXPECT_EQ(i.layer_types[0], "full_attention");
  EXPECT_TRUE(i.has_tokenizer);
  ASSERT_NE(m->tokenizer(), nullptr);
  EXPECT_EQ(i.mask_token_id, m->tokenizer()->mask_id());
  EXPECT_GT(i.num_parameters, 0);
  EXPECT_GE(i.weight_bytes, 2 * i.num_parameters);
}

TEST(Api, EmbedMatchesSentenceTransformersGolden) {
  auto m = LoadOrDie("tiny-st");
  ASSERT_NE(m, nullptr);
  testing::Golden g = testing::LoadGolden(testing::TestDataDir() + "/tiny-st");
  Context ctx(m);
  auto emb = Embed(ctx, GoldenInputs(g));
  ASSERT_TRUE(emb.ok()) << emb.status().message();
  std::vector<float> ref = ReadFloats(g.file, "embeddings");
  ASSERT_EQ(emb->values.size(), ref.size());
  EXPECT_EQ(emb->rows, g.batch.num_seqs());
  EXPECT_EQ(emb->dim, m->info().embedding_dim);
  const auto r =
      AllClose(emb->values.data(), ref.data(), static_cast<int64_t>(ref.size()), kTol, kTol);
  EXPECT_TRUE(r.ok) << "embeddings max |err| " << r.max_abs;
}

TEST(Api, EmbedOptions) {
  auto m = LoadOrDie("tiny-mlm");
  ASSERT_NE(m, nullptr);
  Context ctx(m);
  const std::vector<Input> in = {Input::Text("a first text"), Input::Text("another one")};
  EmbedOptions o;
  o.normalize = true;
  o.dims = 16;
  auto e = Embed(ctx, in, o);
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_EQ(e->dim, 16);
  for (int64_t r = 0; r < e->rows; ++r) {
    double ss = 0;
    for (int64_t k = 0; k < e->dim; ++k) ss += double(e->row(r)[k]) * e->row(r)[k];
    EXPECT_NEAR(ss, 1.0, 1e-5);
  }
  // cls pooling is the first token's last hidden state.
  o = EmbedOptions{};
  o.pooling = EmbedPooling::kCls;
  auto cls = Embed(ctx, in, o);
  auto hs = HiddenStates(ctx, in);
  ASSERT_TRUE(cls.ok() && hs.ok());
  for (size_t s = 0; s < in.size(); ++s)
    for (int64_t k = 0; k < cls->dim; ++k)
      EXPECT_EQ(cls->row(static_cast<int64_t>(s))[k], (*hs)[s].row(0)[k]);
}

TEST(Api, ClassifySequencesMatchesGolden) {
  for (const char* name : {"tiny-seqcls-cls", "tiny-seqcls-mean"}) {
    auto m = LoadOrDie(name);
    ASSERT_NE(m, nullptr);
    testing::Golden g = testing::LoadGolden(testing::TestDataDir() + "/" + name);
    Context ctx(m);
    auto res = ClassifySequences(ctx, GoldenInputs(g));
    ASSERT_TRUE(res.ok()) << res.status().message();
    std::vector<float> ref = ReadFloats(g.file, "logits");
    const size_t K = m->info().labels.size();
    ASSERT_EQ(res->size() * K, ref.size());
    for (size_t s = 0; s < res->size(); ++s) {
      const SequenceClassification& r = (*res)[s];
      const auto c =
          AllClose(r.logits.data(), ref.data() + s * K, static_cast<int64_t>(K), kTol, kTol);
      EXPECT_TRUE(c.ok) << name << " sequence " << s << " logits max |err| " << c.max_abs;
      const int best = static_cast<int>(
          std::max_element(ref.begin() + s * K, ref.begin() + (s + 1) * K) - (ref.begin() + s * K));
      EXPECT_EQ(r.label_id, best);
      EXPECT_EQ(r.label, m->info().labels[static_cast<size_t>(best)]);
      double sum = 0;
      for (float p : r.scores) sum += p;
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
}

TEST(Api, ClassifyTokensMatchesGolden) {
  auto m = LoadOrDie("tiny-tokcls");
  ASSERT_NE(m, nullptr);
  testing::Golden g = testing::LoadGolden(testing::TestDataDir() + "/tiny-tokcls");
  Context ctx(m);
  auto res = ClassifyTokens(ctx, GoldenInputs(g));
  ASSERT_TRUE(res.ok()) << res.status().message();
  std::vector<float> ref = ReadFloats(g.file, "logits");
  const size_t K = m->info().labels.size();
  size_t row = 0;
  for (const TokenClassification& r : res.value()) {
    for (const TokenLabel& t : r.tokens) {
      const float* l = ref.data() + row * K;
      const int best = static_cast<int>(std::max_element(l, l + K) - l);
      EXPECT_EQ(t.label_id, best) << "token row " << row;
      double z = 0;
      for (size_t k = 0; k < K; ++k) z += std::exp(double(l[k]) - l[best]);
      EXPECT_NEAR(t.score, 1.0 / z, 1e-4) << "token row " << row;
      ++row;
    }
  }
  EXPECT_EQ(row * K, ref.size());
}

// FillMask's candidates are the top-k of softmax(MLM logits) at each mask row, computed here
// independently from each input's own hidden states (HiddenStates + the MLM head), while FillMask
// runs all inputs packed in one batch (so its row bookkeeping across sequences is exercised).
TEST(Api, FillMaskIsTheTopKOfTheMlmSoftmax) {
  auto m = LoadOrDie("tiny-mlm");
  ASSERT_NE(m, nullptr);
  const std::vector<Input> in = {Input::Text("Paris is the [MASK] of [MASK]."),
                                 Input::Text("no masks? [MASK]"),
                                 Input::Text("[MASK] [MASK] [MASK] in a row")};
  Context ctx(m);
  FillMaskOptions o;
  o.top_k = 7;
  auto res = FillMask(ctx, in, o);
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(res->size(), in.size());
  auto enc = Tokenize(ctx, in);
  auto hs = HiddenStates(ctx, in);
  ASSERT_TRUE(enc.ok() && hs.ok());
  const Encoder& encoder = m->impl().encoder;
  const int64_t V = m->info().vocab_size;
  const int32_t mask = m->info().mask_token_id;
  for (size_t s = 0; s < in.size(); ++s) {
    const std::vector<int32_t>& ids = (*enc)[s].ids;
    std::vector<int32_t> rows;
    for (size_t t = 0; t < ids.size(); ++t)
      if (ids[t] == mask) rows.push_back(static_cast<int32_t>(t));
    ASSERT_EQ((*res)[s].masks.size(), rows.size()) << "input " << s;
    std::vector<float> logits;
    MaskedLmLogits(encoder, (*hs)[s].values.data(), (*hs)[s].rows, rows, &logits);
    SoftmaxRows(logits.data(), static_cast<int64_t>(rows.size()), V);
    for (size_t r = 0; r < rows.size(); ++r) {
      const MaskPrediction& p = (*res)[s].masks[r];
      EXPECT_EQ(p.position, rows[r]);
      ASSERT_EQ(p.candidates.size(), 7u);
      const float* probs = logits.data() + r * V;
      std::vector<float> sorted(probs, probs + V);
      std::sort(sorted.begin(), sorted.end(), std::greater<float>());
      for (size_t k = 0; k < p.candidates.size(); ++k) {
        const MaskCandidate& c = p.candidates[k];
        EXPECT_NEAR(c.score, sorted[k], 1e-5 * sorted[0]) << "input " << s << " mask " << r;
        EXPECT_NEAR(probs[c.token], c.score, 1e-5 * sorted[0]);
        EXPECT_EQ(c.token_str, m->tokenizer()->Decode({c.token}).value());
        std::vector<int32_t> filled = ids;
        filled[static_cast<size_t>(rows[r])] = c.token;
        EXPECT_EQ(c.sequence, m->tokenizer()->Decode(filled).value());
      }
    }
  }
}

TEST(Api, HookSeesEveryStageAndChangesNothing) {
  auto m = LoadOrDie("tiny-mlm");
  ASSERT_NE(m, nullptr);
  const std::vector<Input> in = {Input::Text("one two three"), Input::Text("four")};
  Context plain(m), hooked(m);
  int stages = 0, finals = 0;
  hooked.SetStageHook([&](const Stage& s) {
    ++stages;
    if (std::string(s.name) == "final_norm") {
      ++finals;
      EXPECT_EQ(s.layer, m->info().num_layers);
      EXPECT_EQ(s.cols, m->info().hidden_size);
    }
  });
  hooked.EnableProfile(true);
  auto a = HiddenStates(plain, in);
  auto b = HiddenStates(hooked, in);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t s = 0; s < in.size(); ++s) EXPECT_EQ((*a)[s].values, (*b)[s].values);
  // embeddings + final_norm, and per layer 9 stages (8 in layer 0, which has no attn_norm).
  EXPECT_EQ(stages, 2 + 9 * m->info().num_layers - 1);
  EXPECT_EQ(finals, 1);
  const OpProfile& p = hooked.profile();
  EXPECT_GT(p.tokens, 0);
  for (const char* op : {"embedding", "gemm_wqkv", "rope", "attention_global", "gemm_wo",
                         "layer_norm", "gemm_wi", "geglu", "gemm_mlp_wo"})
    EXPECT_EQ(p.seconds.count(op), 1u) << op;
}

TEST(Api, ResultsDoNotDependOnTheBatchBudget) {
  auto m = LoadOrDie("tiny-mlm");
  ASSERT_NE(m, nullptr);
  std::vector<Input> in;
  for (int i = 0; i < 12; ++i)
    in.push_back(Input::Text(std::string(static_cast<size_t>(i % 5 + 1) * 3, 'a' + i) + " x"));
  ContextOptions one_each;
  one_each.batch_tokens = 1;  // every input alone
  Context big(m), small(m, one_each);
  auto a = Embed(big, in), b = Embed(small, in);
  ASSERT_TRUE(a.ok() && b.ok());
  // oneDNN rounds GEMM row tails differently at other M (test_invariance): 1e-5 relative.
  double scale = 0;
  for (float v : a->values) scale = std::max(scale, double(std::fabs(v)));
  const auto r = AllClose(b->values.data(), a->values.data(),
                          static_cast<int64_t>(a->values.size()), 1e-5 * scale, 1e-5);
  EXPECT_TRUE(r.ok) << r.max_abs;
}

TEST(Api, Errors) {
  auto mlm = LoadOrDie("tiny-mlm");
  auto cls = LoadOrDie("tiny-seqcls-cls");
  ASSERT_NE(mlm, nullptr);
  ASSERT_NE(cls, nullptr);
  Context c_mlm(mlm), c_cls(cls);
  auto r1 = FillMask(c_mlm, {Input::Text("no mask here")});
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.status().message().find("input 1 has no mask token"), std::string::npos)
      << r1.status().message();
  auto r2 = ClassifySequences(c_mlm, {Input::Text("x")});
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("ModernBertForSequenceClassification"), std::string::npos);
  auto r3 = Embed(c_cls, {Input::Text("text without a tokenizer")});
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.status().message().find("no tokenizer.json"), std::string::npos);
  auto r4 = HiddenStates(c_mlm, {Input::Ids({1, 2, 999999})});
  ASSERT_FALSE(r4.ok());
  EXPECT_NE(r4.status().message().find("input 1"), std::string::npos) << r4.status().message();
  auto r5 = Model::Load(testing::TestDataDir() + "/no-such-model");
  ASSERT_FALSE(r5.ok());
  EXPECT_NE(r5.status().message().find("no-such-model"), std::string::npos);
}

// N threads share one Model, each with its own Context (1 OpenMP thread each), and run every
// task on the same inputs as a single-threaded reference: results must be identical, bit for
// bit (same kernels, same batch composition, same thread count per forward).
TEST(Api, ThreadsSharingOneModelMatchOneThread) {
  auto mlm = LoadOrDie("tiny-mlm");
  ASSERT_NE(mlm, nullptr);
  std::vector<Input> in;
  for (int i = 0; i < 24; ++i)
    in.push_back(Input::Text("sentence number " + std::to_string(i) + " says [MASK] about " +
                             std::string(static_cast<size_t>(i % 7 + 1), 'z')));
  ContextOptions opts;
  opts.threads = 1;
  opts.batch_tokens = 64;
  struct Out {
    std::vector<float> emb;
    std::vector<std::vector<float>> hidden;
    std::vector<std::vector<int32_t>> tokens;
    std::vector<std::vector<float>> scores;
  };
  auto run = [&](Out* o) {
    Context ctx(mlm, opts);
    for (int rep = 0; rep < 3; ++rep) {
      auto e = Embed(ctx, in);
      auto h = HiddenStates(ctx, in);
      auto f = FillMask(ctx, in);
      ASSERT_TRUE(e.ok() && h.ok() && f.ok());
      o->emb = e->values;
      o->hidden.clear();
      for (const Matrix& mtx : h.value()) o->hidden.push_back(mtx.values);
      o->tokens.clear();
      o->scores.clear();
      for (const FillMaskResult& r : f.value()) {
        o->tokens.emplace_back();
        o->scores.emplace_back();
        for (const auto& c : r.masks[0].candidates) {
          o->tokens.back().push_back(c.token);
          o->scores.back().push_back(c.score);
        }
      }
    }
  };
  Out ref;
  run(&ref);
  constexpr int kThreads = 4;
  std::vector<Out> outs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(run, &outs[t]);
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(outs[t].emb, ref.emb) << "thread " << t;
    EXPECT_EQ(outs[t].hidden, ref.hidden) << "thread " << t;
    EXPECT_EQ(outs[t].tokens, ref.tokens) << "thread " << t;
    EXPECT_EQ(outs[t].scores, ref.scores) << "thread " << t;
  }
}

}  // namespace
}  // namespace mbert
