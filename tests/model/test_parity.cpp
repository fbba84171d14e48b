// Parity with transformers 5.23 (goldens from tools/golden/make_parity_models.py): every layer's
// sublayer outputs and hidden states, the final hidden states and each head's logits, at
// atol = rtol = 1e-4 over real (packed) positions. A failure names the first (layer, stage)
// that diverges, since later stages inherit its error.
#include <map>

#include "model/heads.h"
#include "model/model.h"
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

// Runs the encoder with taps and compares each against the golden of the same name, in forward
// order. Returns the final hidden states.
std::vector<float> CheckEncoder(Model& m, const Golden& g) {
  const int64_t N = g.batch.num_tokens(), C = m.config().hidden_size;
  const int L = m.config().num_hidden_layers;
  std::vector<std::pair<std::string, std::vector<float>>> taps;  // in forward order
  TapFn tap = [&](int layer, const char* stage, const float* data) {
    std::string name;
    const std::string s = stage;
    if (s == "embeddings")
      name = "hidden_states.0";
    else if (s == "attn_out" || s == "mlp_out")
      name = "layers." + std::to_string(layer) + "." + s;
    else if (s == "hidden")
      name = "hidden_states." + std::to_string(layer + 1);
    else
      name = "last_hidden_state";
    taps.emplace_back(name, std::vector<float>(data, data + N * C));
  };
  std::vector<float> hidden;
  Status st = m.Forward(g.batch, &hidden, nullptr, tap);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(taps.size(), static_cast<size_t>(3 * L + 2));
  int compared = 0;
  for (const auto& [name, ours] : taps) {
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
  // The untapped forward takes the fused hot path (GEMMs accumulate into the residual stream):
  // it must give the same final hidden states.
  std::vector<float> fast;
  EXPECT_TRUE(m.Forward(g.batch, &fast).ok());
  std::vector<float> ref = ReadFloats(g.file, "last_hidden_state");
  const auto r = AllClose(fast.data(), ref.data(), N * C, kTol, kTol);
  EXPECT_TRUE(r.ok) << "untapped forward: last_hidden_state max |err| " << r.max_abs;
  return fast;
}

TEST(Parity, TinyMaskedLM) {
  const std::string dir = testing::TestDataDir() + "/tiny-mlm";
  auto m = Model::Load(dir);
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
  auto m = Model::Load(dir);
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
  auto m = Model::Load(dir);
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
  auto m = Model::Load(dir);
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
