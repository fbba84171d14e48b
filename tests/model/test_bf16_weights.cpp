// Models loaded with bf16 weights (LoadOptions{WeightDtype::kBF16}): the conversion rounds to
// nearest even; on a BF16 checkpoint the forward and the MLM logits equal the fp32 model's bit for
// bit (same fp32 values after expansion, same GEMMs); on F32 and F16 checkpoints they equal an
// fp32 model whose weights were rounded to bf16 beforehand, and stay within a stated tolerance of
// the unrounded model; the weights take half the bytes; training a bf16 model is an error.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "core/dtype.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "model/weights.h"
#include "ops/cpu/bf16.h"
#include "test_util.h"

namespace mbert {
namespace {

using testing::Golden;
using testing::LoadGolden;
using testing::ReadInts;

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(Bf16Conversion, RoundsToNearestEven) {
  // 1.0 is 0x3f800000; the low 16 bits decide. Exactly half way rounds to the even upper half.
  EXPECT_EQ(FloatToBf16(FromBits(0x3f800000u)), 0x3f80);
  EXPECT_EQ(FloatToBf16(FromBits(0x3f807fffu)), 0x3f80);  // below half: down
  EXPECT_EQ(FloatToBf16(FromBits(0x3f808000u)), 0x3f80);  // tie, 0x3f80 even: down
  EXPECT_EQ(FloatToBf16(FromBits(0x3f808001u)), 0x3f81);  // above half: up
  EXPECT_EQ(FloatToBf16(FromBits(0x3f818000u)), 0x3f82);  // tie, 0x3f81 odd: up to even
  EXPECT_EQ(FloatToBf16(FromBits(0xbf818000u)), 0xbf82);  // the same for negatives
  EXPECT_EQ(FloatToBf16(FromBits(0x3fffffffu)), 0x4000);  // carry into the exponent
  EXPECT_EQ(FloatToBf16(FromBits(0x00018000u)), 0x0002);  // subnormal tie, odd: up
  EXPECT_EQ(FloatToBf16(FromBits(0x00008000u)), 0x0000);  // subnormal tie, even: down to +0
  EXPECT_EQ(FloatToBf16(-0.0f), 0x8000);
}

TEST(Bf16Conversion, InfinityOverflowAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(FloatToBf16(inf), 0x7f80);
  EXPECT_EQ(FloatToBf16(-inf), 0xff80);
  // The largest floats round past bf16's largest finite value (0x7f7f) to infinity.
  EXPECT_EQ(FloatToBf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(FloatToBf16(FromBits(0x7f7f8000u)), 0x7f80);  // tie, 0x7f7f odd: up to inf
  EXPECT_EQ(FloatToBf16(FromBits(0x7f7f7fffu)), 0x7f7f);
  // NaNs stay NaN with their sign, including those whose payload sits in the low 16 bits only
  // (plain rounding would turn 0x7f800001 into infinity).
  for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0x7fffffffu, 0xff800001u, 0xffc00000u}) {
    const uint16_t h = FloatToBf16(FromBits(nan));
    EXPECT_TRUE(std::isnan(Bf16ToFloat(h))) << std::hex << nan;
    EXPECT_EQ(h >> 15, nan >> 31) << std::hex << nan;
  }
  EXPECT_EQ(FloatToBf16(std::nanf("")), 0x7fc0);
}

// Every bf16 value survives bf16 -> fp32 -> bf16, and the vector expansions (AVX2 body, scalar
// tail, threaded) agree with the scalar one bit for bit.
TEST(Bf16Conversion, ExpansionIsExact) {
  std::vector<uint16_t> all(65536 + 5);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i * 40503u);
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = Bf16ToFloat(static_cast<uint16_t>(h));
    if (!std::isnan(f)) {
      ASSERT_EQ(FloatToBf16(f), h);
    }
  }
  std::vector<float> a(all.size()), b(all.size());
  ops::Bf16ToFloat(all.data(), static_cast<int64_t>(all.size()), a.data());
  ops::Bf16ToFloatParallel(all.data(), static_cast<int64_t>(all.size()), b.data());
  for (size_t i = 0; i < all.size(); ++i) {
    const float want = Bf16ToFloat(all[i]);
    ASSERT_EQ(std::memcmp(&a[i], &want, 4), 0) << i;
    ASSERT_EQ(std::memcmp(&b[i], &want, 4), 0) << i;
  }
}

Encoder LoadModel(const std::string& dir, WeightDtype dtype) {
  LoadOptions opts;
  opts.dtype = dtype;
  auto m = Encoder::Load(dir, opts);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

std::vector<float> Hidden(Encoder& m, const PackedBatch& batch) {
  std::vector<float> hidden;
  ForwardContext ctx;
  Status st = m.Forward(batch, ctx, &hidden);
  EXPECT_TRUE(st.ok()) << st.message();
  return hidden;
}

bool BitEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0.0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

// tiny-mlm is stored in BF16: rounding is the identity, so bf16 storage must change nothing.
TEST(Bf16Weights, Bf16CheckpointIsBitExact) {
  const std::string dir = testing::TestDataDir() + "/tiny-mlm";
  Encoder f32 = LoadModel(dir, WeightDtype::kF32);
  Encoder bf16 = LoadModel(dir, WeightDtype::kBF16);
  EXPECT_EQ(bf16.weight_dtype(), WeightDtype::kBF16);
  EXPECT_TRUE(bf16.linear("decoder.weight").bf16());
  const Golden g = LoadGolden(dir);
  const std::vector<float> h32 = Hidden(f32, g.batch), h16 = Hidden(bf16, g.batch);
  ASSERT_FALSE(h32.empty());
  EXPECT_TRUE(BitEqual(h32, h16)) << "hidden states differ by up to " << MaxAbsDiff(h32, h16);
  // Logits of every row: the tied decoder (V x C, several expansion blocks) on all positions.
  std::vector<float> l32, l16;
  MaskedLmLogits(f32, h32.data(), g.batch.num_tokens(), {}, &l32);
  MaskedLmLogits(bf16, h16.data(), g.batch.num_tokens(), {}, &l16);
  ASSERT_EQ(l32.size(), static_cast<size_t>(g.batch.num_tokens() * f32.config().vocab_size));
  EXPECT_TRUE(BitEqual(l32, l16)) << "MLM logits differ by up to " << MaxAbsDiff(l32, l16);
}

// fp32 weights with every 2-D parameter rounded to bf16 and back: what a bf16 model computes.
Encoder RoundedF32Model(const std::string& dir) {
  auto c = ModelConfig::FromFile(dir + "/config.json");
  EXPECT_TRUE(c.ok()) << c.status().message();
  auto params = LoadWeights(dir, c.value());
  EXPECT_TRUE(params.ok()) << params.status().message();
  for (auto& [name, t] : params.value()) {
    if (t.ndim() != 2) continue;
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = Bf16ToFloat(FloatToBf16(t.data()[i]));
  }
  auto m = Encoder::FromParams(std::move(c).value(), std::move(params).value());
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

// Hidden states of the tiny random models are LayerNorm outputs of unit scale and the logits are
// O(1): rounding weights to bf16 (relative error <= 2^-9) moves them by about 1e-2 at most.
constexpr double kBf16Tolerance = 5e-2;

class Bf16RoundedCheckpoint : public ::testing::TestWithParam<const char*> {};

TEST_P(Bf16RoundedCheckpoint, MatchesRoundedF32AndStaysNearF32) {
  const std::string dir = testing::TestDataDir() + "/" + GetParam();
  Encoder f32 = LoadModel(dir, WeightDtype::kF32);
  Encoder bf16 = LoadModel(dir, WeightDtype::kBF16);
  Encoder rounded = RoundedF32Model(dir);
  const Golden g = LoadGolden(dir);
  const std::vector<float> h32 = Hidden(f32, g.batch), h16 = Hidden(bf16, g.batch),
                           hr = Hidden(rounded, g.batch);
  ASSERT_FALSE(h16.empty());
  EXPECT_LE(MaxAbsDiff(h16, hr), 1e-6);
  std::vector<float> l32, l16, lr;
  SequenceClassificationLogits(f32, h32.data(), g.batch.cu_seqlens, &l32);
  SequenceClassificationLogits(bf16, h16.data(), g.batch.cu_seqlens, &l16);
  SequenceClassificationLogits(rounded, hr.data(), g.batch.cu_seqlens, &lr);
  EXPECT_LE(MaxAbsDiff(l16, lr), 1e-6);
  const double dh = MaxAbsDiff(h16, h32), dl = MaxAbsDiff(l16, l32);
  std::printf(
      "[measured] %s: bf16 vs rounded-f32 hidden %s, logits %s; bf16 vs f32 max |err| "
      "hidden %.3g, logits %.3g (tolerance %.3g)\n",
      GetParam(), BitEqual(h16, hr) ? "bitwise" : "close", BitEqual(l16, lr) ? "bitwise" : "close",
      dh, dl, kBf16Tolerance);
  EXPECT_GT(dh, 0.0) << "rounding to bf16 should change something on an fp32 checkpoint";
  EXPECT_LE(dh, kBf16Tolerance);
  EXPECT_LE(dl, kBf16Tolerance);
}

// tiny-seqcls-mean: sharded F32; tiny-seqcls-cls: F16 (rounded to bf16 through fp32).
INSTANTIATE_TEST_SUITE_P(Checkpoints, Bf16RoundedCheckpoint,
                         ::testing::Values("tiny-seqcls-mean", "tiny-seqcls-cls"));

TEST(Bf16Weights, HalfTheWeightBytes) {
  const std::string dir = testing::TestDataDir() + "/tiny-mlm";
  Encoder f32 = LoadModel(dir, WeightDtype::kF32);
  Encoder bf16 = LoadModel(dir, WeightDtype::kBF16);
  ASSERT_EQ(bf16.num_parameters(), f32.num_parameters());
  int64_t n2d = 0, n1d = 0;
  for (const auto& [name, t] : f32.params()) (t.ndim() == 2 ? n2d : n1d) += t.numel();
  // fp32: the tensors once, plus copies only where oneDNN wants a blocked layout (AVX-512).
  const bool borrowed = f32.linear("model.layers.0.attn.Wqkv.weight").borrowed();
  if (borrowed) {
    EXPECT_EQ(f32.weight_bytes(), 4 * f32.num_parameters());
  }
  EXPECT_GE(f32.weight_bytes(), 4 * f32.num_parameters());
  // bf16: 2-D parameters in bf16 (no fp32 copy left), norms and biases in fp32.
  EXPECT_EQ(bf16.weight_bytes(), 2 * n2d + 4 * n1d);
  int64_t kept = 0;
  for (const auto& [name, t] : bf16.params()) {
    EXPECT_EQ(t.ndim(), 1) << name << " should be in bf16";
    kept += t.numel();
  }
  EXPECT_EQ(kept, n1d);
  EXPECT_EQ(bf16.bf16_params().size() + bf16.params().size(), f32.params().size());
  const double ratio = double(bf16.weight_bytes()) / (4.0 * f32.num_parameters());
  std::printf("[measured] tiny-mlm weight bytes: f32 %lld (GEMMs %s), bf16 %lld (%.3f of fp32)\n",
              static_cast<long long>(f32.weight_bytes()), borrowed ? "borrowed" : "copied",
              static_cast<long long>(bf16.weight_bytes()), ratio);
  EXPECT_LT(ratio, 0.52);
}

// FromParams in bf16 converts an fp32 table the same way Load does.
TEST(Bf16Weights, FromParamsMatchesLoad) {
  const std::string dir = testing::TestDataDir() + "/tiny-seqcls-mean";
  auto c = ModelConfig::FromFile(dir + "/config.json");
  ASSERT_TRUE(c.ok());
  auto params = LoadWeights(dir, c.value());
  ASSERT_TRUE(params.ok());
  LoadOptions opts;
  opts.dtype = WeightDtype::kBF16;
  auto from = Encoder::FromParams(c.value(), std::move(params).value(), opts);
  ASSERT_TRUE(from.ok()) << from.status().message();
  Encoder loaded = LoadModel(dir, WeightDtype::kBF16);
  ASSERT_EQ(from->bf16_params().size(), loaded.bf16_params().size());
  for (const auto& [name, t] : loaded.bf16_params()) {
    const Bf16Tensor& u = from->bf16_params().at(name);
    ASSERT_EQ(std::memcmp(t.data(), u.data(), static_cast<size_t>(t.numel()) * 2), 0) << name;
  }
}

TEST(Bf16Weights, TrainingIsAnError) {
  Encoder bf16 = LoadModel(testing::TestDataDir() + "/tiny-mlm", WeightDtype::kBF16);
  const Golden g = LoadGolden(testing::TestDataDir() + "/tiny-mlm");
  std::vector<float> hidden;
  ForwardActivations acts;
  ForwardContext ctx;
  Status st = bf16.Forward(g.batch, ctx, &hidden, &acts);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("inference-only"), std::string::npos) << st.message();
  EXPECT_DEATH(bf16.RefreshWeights(), "inference only");
  EXPECT_DEATH(bf16.param("model.embeddings.tok_embeddings.weight"), "keeps it in bf16");
}

TEST(Bf16Weights, ParseDtype) {
  EXPECT_EQ(ParseWeightDtype("bf16").value(), WeightDtype::kBF16);
  EXPECT_EQ(ParseWeightDtype("f32").value(), WeightDtype::kF32);
  EXPECT_FALSE(ParseWeightDtype("fp16").ok());
  EXPECT_STREQ(WeightDtypeName(WeightDtype::kBF16), "bf16");
}

}  // namespace
}  // namespace mbert
