// Parity with transformers 5.23 (goldens from tools/golden/make_parity_models.py): every layer's
// sublayer outputs and hidden states, the final hidden states and each head's logits, at
// atol = rtol = 1e-4 over real (packed) positions. A failure names the first (layer, stage)
// that diverges, since later stages inherit its error.
#include <map>

#include "model/encoder.h"
#include "model/heads.h"
#include "model/sentence_embedder.h"
#include "test_util.h"

namespace mbert {
namespace {

using testing::AllClose;
using testing::Golden;
using testing::LoadGolden;
using testing::ReadFloats;
using testing::ReadInts;

constexpr double kTol = 1e-4;

// Runs the encoder (the inference forward itself, with a stage hook) and compares each stage
// against the golden of the same name, in forward order. Returns the final hidden states.
std::vector<float> CheckEncoder(const Encoder& m, const Golden& g) {
  const int64_t N = g.batch.num_tokens(), C = m.config().hidden_size;
  const int L = m.config().num_hidden_layers;
  std::vector<float> hidden;
  const auto stages = testing::GoldenStages(m, g.batch, &hidden);
  EXPECT_EQ(stages.size(), static_cast<size_t>(3 * L + 2));
  int compared = 0;
  for (const auto& [name, ours] : stages) {
    if (g.file.Find(name) == nullptr) continue;  // e.g. hidden_states.L when HF stores it normed
    std::vector<float> ref = ReadFloats(g.file, name);
    if (ref.size() != ours.size()) {
      ADD_FAILURE() << name << ": golden has " << ref.size() << " values, ours " << ours.size();
      return hidden;
    }
    const auto r = AllClose(ours.data(), ref.data(), N * C, kTol, kTol);
    ++compared;
    if (!r.ok) {
      ADD_FAILURE() << "first divergence at " << name << ": max |err| " << r.max_abs
                    << " (first bad element " << r.first_bad << ")";
      return hidden;
    }
  }
  EXPECT_GE(compared, 2 * L + 2) << "goldens hold too few stages";
  // A forward without a hook computes the same thing, bit for bit.
  std::vector<float> plain;
  ForwardContext ctx;
  EXPECT_TRUE(m.Forward(g.batch, ctx, &plain).ok());
  EXPECT_EQ(plain, hidden) << "the stage hook changed the forward's result";
  return hidden;
}

TEST(Parity, TinyMaskedLM) {
  const std::string dir = testing::TestDataDir() + "/tiny-mlm";
  auto m = Encoder::Load(dir);
  ASSERT_TRUE(m.ok()) << m.status().message();
  Golden g = LoadGolden(dir);
  std::vector<float> hidden = CheckEncoder(m.value(), g);
  std::vector<int32_t> rows = ReadInts(g.file, "logits_rows");
  std::vector<float> ref = ReadFloats(g.file, "logits");
  std::vector<float> logits;
  MaskedLmLogits(m.value(), hidden.data(), g.batch.num_tokens(), rows, &logits);
  ASSERT_EQ(logits.size(), ref.size());
  const auto r = AllClose(logits.data(), ref.data(), static_cast<int64_t>(ref.size()), kTol, kTol);
  EXPECT_TRUE(r.ok) << "MLM logits max |err| " << r.max_abs;
}

void CheckSequenceClassifier(const std::string& name) {
  const std::string dir = testing::TestDataDir() + "/" + name;
  auto m = Encoder::Load(dir);
  ASSERT_TRUE(m.ok()) << m.status().message();
  Golden g = LoadGolden(dir);
  std::vector<float> hidden = CheckEncoder(m.value(), g);
  std::vector<float> logits, ref = ReadFloats(g.file, "logits");
  SequenceClassificationLogits(m.value(), hidden.data(), g.batch.cu_seqlens, &logits);
  ASSERT_EQ(logits.size(), ref.size());
  const auto r = AllClose(logits.data(), ref.data(), static_cast<int64_t>(ref.size()), kTol, kTol);
  EXPECT_TRUE(r.ok) << name << " logits max |err| " << r.max_abs;
}

TEST(Parity, SequenceClassificationMeanPoolingSharded) {
  CheckSequenceClassifier("tiny-seqcls-mean");
}

TEST(Parity, SequenceClassificationClsPoolingF16) { CheckSequenceClassifier("tiny-seqcls-cls"); }

TEST(Parity, TokenClassification) {
  const std::string dir = testing::TestDataDir() + "/tiny-tokcls";
  auto m = Encoder::Load(dir);
  ASSERT_TRUE(m.ok()) << m.status().message();
  Golden g = LoadGolden(dir);
  std::vector<float> hidden = CheckEncoder(m.value(), g);
  std::vector<float> logits, ref = ReadFloats(g.file, "logits");
  TokenClassificationLogits(m.value(), hidden.data(), g.batch.num_tokens(), &logits);
  ASSERT_EQ(logits.size(), ref.size());
  const auto r = AllClose(logits.data(), ref.data(), static_cast<int64_t>(ref.size()), kTol, kTol);
  EXPECT_TRUE(r.ok) << "token logits max |err| " << r.max_abs;
}

TEST(Parity, SentenceTransformersEmbeddings) {
  const std::string dir = testing::TestDataDir() + "/tiny-st";
  auto m = Encoder::Load(dir);
  ASSERT_TRUE(m.ok()) << m.status().message();
  Golden g = LoadGolden(dir);
  std::vector<float> hidden = CheckEncoder(m.value(), g);
  auto e = SentenceEmbedder::Load(dir, m->config());
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_TRUE(e->from_sentence_transformers);
  std::vector<float> emb, ref = ReadFloats(g.file, "embeddings");
  int64_t dim = 0;
  ASSERT_TRUE(
      e->Embed(hidden.data(), m->config().hidden_size, g.batch.cu_seqlens, 0, &emb, &dim).ok());
  ASSERT_EQ(emb.size(), ref.size());
  const auto r = AllClose(emb.data(), ref.data(), static_cast<int64_t>(ref.size()), kTol, kTol);
  EXPECT_TRUE(r.ok) << "embeddings max |err| " << r.max_abs;
}

}  // namespace
}  // namespace mbert
