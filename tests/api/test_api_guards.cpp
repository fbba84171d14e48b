// The tasks' guards at their edges: the input length rule (an error naming the input, its length
// and the limit; or truncation that keeps [CLS] ... [SEP] and is reported), non-finite outputs as
// errors naming the input, and fill-mask's blocks of mask rows giving the unblocked results.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../model/test_util.h"
#include "broken_model.h"
#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"

namespace mbert {
namespace {

constexpr int32_t kCls = 50281, kSep = 50282;
const char* kLong = "one two three four five six seven eight nine ten";  // 12 tokens with specials

std::shared_ptr<const Model> LoadOrDie(const std::string& dir) {
  auto m = Model::Load(dir);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? m.value() : nullptr;
}

bool Has(const Status& st, const std::string& text) {
  return st.message().find(text) != std::string::npos;
}

TEST(InputLength, LongerThanTheLimitIsAnErrorNamingInputLengthAndLimit) {
  auto m = LoadOrDie(testing::TestDataDir() + "/tiny-mlm");
  ASSERT_NE(m, nullptr);
  ContextOptions o;
  o.max_length = 8;
  Context ctx(m, o);
  auto t = Tokenize(ctx, {Input::Text("short"), Input::Text(kLong)});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(Has(t.status(), "input 2 has 12 tokens, more than the limit of 8"))
      << t.status().message();
  // Every task applies the rule, and a streaming caller's offset numbers the input.
  ctx.mutable_options().input_offset = 100;
  auto e = Embed(ctx, {Input::Text(kLong)});
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(Has(e.status(), "input 101 has 12 tokens")) << e.status().message();
  auto f = FillMask(ctx, {Input::Text("[MASK] " + std::string(kLong))});
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(Has(f.status(), "more than the limit of 8")) << f.status().message();
  std::vector<int32_t> ids = {kCls, 10, 11, 12, 13, 14, 15, 16, 17, kSep};
  auto h = HiddenStates(ctx, {Input::Ids(ids)});
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(Has(h.status(), "input 101 has 10 tokens, more than the limit of 8"))
      << h.status().message();
  // At the limit is fine, and the model's maximum caps a larger max_length.
  ctx.mutable_options().max_length = 12;
  EXPECT_TRUE(Tokenize(ctx, {Input::Text(kLong)}).ok());
  EXPECT_TRUE(ctx.truncated().empty());
  ctx.mutable_options().max_length = 1 << 20;
  auto huge = Tokenize(ctx, {Input::Ids(std::vector<int32_t>(8193, 10))});
  ASSERT_FALSE(huge.ok());
  EXPECT_TRUE(Has(huge.status(), "8193 tokens, more than the limit of 8192"))
      << huge.status().message();
}

TEST(InputLength, TruncationKeepsTheSpecialsAndIsReported) {
  auto m = LoadOrDie(testing::TestDataDir() + "/tiny-mlm");
  ASSERT_NE(m, nullptr);
  ContextOptions o;
  o.max_length = 8;
  o.truncate = true;
  Context ctx(m, o);
  const std::vector<int32_t> ids = {kCls, 10, 11, 12, 13, 14, 15, 16, 17, kSep};
  const std::vector<int32_t> bare = {10, 11, 12, 13, 14, 15, 16, 17, 18};
  auto t = Tokenize(ctx, {Input::Text("short"), Input::Text(kLong), Input::Ids(ids),
                          Input::Pair(kLong, "and a second text"), Input::Ids(bare)});
  ASSERT_TRUE(t.ok()) << t.status().message();
  const auto& enc = t.value();
  for (size_t i = 1; i < enc.size(); ++i) EXPECT_EQ(enc[i].ids.size(), 8u) << i;
  EXPECT_EQ(enc[1].ids.front(), kCls);
  EXPECT_EQ(enc[1].ids.back(), kSep);  // the tokenizer keeps the template's [SEP]
  EXPECT_EQ(enc[2].ids, (std::vector<int32_t>{kCls, 10, 11, 12, 13, 14, 15, kSep}));
  EXPECT_EQ(enc[3].ids.back(), kSep);
  EXPECT_EQ(enc[4].ids, (std::vector<int32_t>{10, 11, 12, 13, 14, 15, 16, 17}));  // no specials
  ASSERT_EQ(ctx.truncated().size(), 4u);
  EXPECT_EQ(ctx.truncated()[0].input, 1u);
  EXPECT_EQ(ctx.truncated()[0].original_length, 12);
  EXPECT_EQ(ctx.truncated()[0].length, 8);
  EXPECT_EQ(ctx.truncated()[1].input, 2u);
  EXPECT_EQ(ctx.truncated()[1].original_length, 10);
  EXPECT_EQ(ctx.truncated()[3].input, 4u);
  // The tasks run on the truncated ids: the embedding of a cut text is that of its ids.
  auto cut = Embed(ctx, {Input::Text(kLong)});
  auto same = Embed(ctx, {Input::Ids(enc[1].ids)});
  ASSERT_TRUE(cut.ok() && same.ok());
  EXPECT_EQ(cut->values, same->values);
  EXPECT_EQ(ctx.truncated().size(), 0u);  // the report is the last call's
}

// Every output guard: NaN weights, weights so large the forward overflows (finite weights, Inf
// activations) and an absurd rope_theta (1e-50 is 0 in fp32: Inf RoPE frequencies, NaN angles)
// never come back as numbers; the error names the input.
TEST(OutputGuard, NonFiniteOutputsAreErrorsNamingTheInput) {
  const std::string data = testing::TestDataDir(), tmp = ::testing::TempDir() + "/guards";
  const float nan = std::numeric_limits<float>::quiet_NaN();
  testing::WriteBrokenModel(data + "/tiny-mlm", tmp + "/nan", "model.final_norm.weight", nan);
  testing::WriteBrokenModel(data + "/tiny-mlm", tmp + "/huge", "model.final_norm.weight", 3e38f);
  testing::WriteBrokenModel(data + "/tiny-mlm", tmp + "/theta", "", 0.0f,
                            {{"global_rope_theta", 1e-50}, {"local_rope_theta", 1e-50}});
  for (const char* name : {"nan", "huge", "theta"}) {
    auto loaded = Model::Load(tmp + "/" + name);
    // A loader that refuses such a checkpoint outright is fine too (the error names the fault).
    if (!loaded.ok()) continue;
    Context ctx(loaded.value());
    ctx.mutable_options().input_offset = 6;
    const std::vector<Input> in = {Input::Text("hello [MASK] world")};
    auto e = Embed(ctx, in);
    ASSERT_FALSE(e.ok()) << name;
    EXPECT_TRUE(Has(e.status(), "input 7: non-finite embedding ("))
        << name << ": " << e.status().message();
    auto h = HiddenStates(ctx, in);
    ASSERT_FALSE(h.ok()) << name;
    EXPECT_TRUE(Has(h.status(), "input 7: non-finite hidden state (")) << h.status().message();
    auto f = FillMask(ctx, in);
    ASSERT_FALSE(f.ok()) << name;
    EXPECT_TRUE(Has(f.status(), "input 7: non-finite mask logits (")) << f.status().message();
  }
  testing::WriteBrokenModel(data + "/tiny-seqcls-cls", tmp + "/nan-seq", "model.final_norm.weight",
                            nan);
  testing::WriteBrokenModel(data + "/tiny-tokcls", tmp + "/nan-tok", "model.final_norm.weight",
                            nan);
  const std::vector<Input> ids = {Input::Ids({1, 10, 11, 2}), Input::Ids({1, 12, 2})};
  if (auto seq = Model::Load(tmp + "/nan-seq"); seq.ok()) {
    Context ctx(seq.value());
    auto r = ClassifySequences(ctx, ids);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Has(r.status(), "input 1: non-finite logits (")) << r.status().message();
  }
  if (auto tok = Model::Load(tmp + "/nan-tok"); tok.ok()) {
    Context ctx(tok.value());
    auto r = ClassifyTokens(ctx, ids);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Has(r.status(), "input 1: non-finite logits (")) << r.status().message();
  }
}

// ContextOptions::threads reaches omp_set_num_threads: a count libgomp cannot create crashed it
// (SIGSEGV) from the C++ API, the C API and `mbert serve --threads` alike.
TEST(ThreadCount, AbsurdContextThreadsAreAnError) {
  auto model = LoadOrDie(testing::TestDataDir() + "/tiny-mlm");
  ASSERT_NE(model, nullptr);
  ContextOptions opts;
  opts.threads = 100000;
  Context ctx(model, opts);
  auto e = Embed(ctx, {Input::Text("hi")});
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(Has(e.status(), "ContextOptions::threads must be in [0, ")) << e.status().message();
  ctx.mutable_options().threads = 1;
  EXPECT_TRUE(Embed(ctx, {Input::Text("hi")}).ok());
}

// More masks in one batch than one block of decoder rows (256): the same predictions as each
// input alone.
TEST(FillMaskBlocks, ManyMasksInOneBatchMatchEachInputAlone) {
  auto m = LoadOrDie(testing::TestDataDir() + "/tiny-mlm");
  ASSERT_NE(m, nullptr);
  std::vector<Input> in;
  for (int i = 0; i < 100; ++i)
    in.push_back(Input::Text("[MASK] number " + std::to_string(i) + " [MASK] and [MASK]."));
  Context ctx(m);
  auto all = FillMask(ctx, in, {3});
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), in.size());
  for (size_t i = 0; i < in.size(); i += 33) {
    auto one = FillMask(ctx, {in[i]}, {3});
    ASSERT_TRUE(one.ok());
    const auto& a = all.value()[i].masks;
    const auto& b = one.value()[0].masks;
    ASSERT_EQ(a.size(), 3u);
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].position, b[k].position);
      for (size_t c = 0; c < 3; ++c) {
        EXPECT_EQ(a[k].candidates[c].token, b[k].candidates[c].token) << i << " " << k;
        // oneDNN rounds GEMM row tails differently at other M (test_invariance): 1e-5.
        EXPECT_NEAR(a[k].candidates[c].score, b[k].candidates[c].score, 1e-5);
      }
    }
  }
}

}  // namespace
}  // namespace mbert
