#include <gtest/gtest.h>

#include <cmath>

#include "train/init.h"

namespace mbert {
namespace {

// A ModernBERT-shaped table (HF names; layer 0 has no attn_norm).
TensorTable TinyTable(int64_t V, int64_t C, int64_t I, int L, bool with_bias = true) {
  TensorTable t;
  t.emplace("model.embeddings.tok_embeddings.weight", Tensor({V, C}));
  t.emplace("model.embeddings.norm.weight", Tensor({C}));
  for (int i = 0; i < L; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    if (i > 0) t.emplace(p + "attn_norm.weight", Tensor({C}));
    t.emplace(p + "attn.Wqkv.weight", Tensor({3 * C, C}));
    t.emplace(p + "attn.Wo.weight", Tensor({C, C}));
    t.emplace(p + "mlp_norm.weight", Tensor({C}));
    t.emplace(p + "mlp.Wi.weight", Tensor({2 * I, C}));
    t.emplace(p + "mlp.Wo.weight", Tensor({C, I}));
  }
  t.emplace("model.final_norm.weight", Tensor({C}));
  t.emplace("head.dense.weight", Tensor({C, C}));
  t.emplace("head.norm.weight", Tensor({C}));
  if (with_bias) t.emplace("decoder.bias", Tensor({V}));
  return t;
}

TEST(MegatronInit, SigmaTable) {
  InitOptions o;  // base: L = 22, range 0.02
  const double out = 0.02 / std::sqrt(44.0);
  EXPECT_NEAR(out, 0.0030151, 1e-7);  // reference §5.6
  auto rule = [&](const std::string& n) {
    auto r = InitRuleFor(n, o);
    EXPECT_TRUE(r.ok()) << n;
    return r.ok() ? r.value() : InitRule();
  };
  EXPECT_DOUBLE_EQ(rule("model.embeddings.tok_embeddings.weight").std, 0.02);
  EXPECT_DOUBLE_EQ(rule("model.layers.3.attn.Wqkv.weight").std, 0.02);
  EXPECT_DOUBLE_EQ(rule("model.layers.3.mlp.Wi.weight").std, 0.02);
  EXPECT_DOUBLE_EQ(rule("model.layers.3.attn.Wo.weight").std, out);
  EXPECT_DOUBLE_EQ(rule("model.layers.21.mlp.Wo.weight").std, out);  // depth L, not layer index
  EXPECT_DOUBLE_EQ(rule("head.dense.weight").std, out);              // HF convention
  o.head_dense = HeadDenseInit::kOriginal;
  EXPECT_DOUBLE_EQ(rule("head.dense.weight").std, 0.02);  // original repo
  EXPECT_EQ(rule("model.layers.1.attn_norm.weight").kind, InitRule::Kind::kOnes);
  EXPECT_EQ(rule("head.norm.weight").kind, InitRule::Kind::kOnes);
  EXPECT_EQ(rule("decoder.bias").kind, InitRule::Kind::kZeros);
  o.num_hidden_layers = 28;
  EXPECT_NEAR(rule("model.layers.0.mlp.Wo.weight").std, 0.0026726, 1e-7);  // large
  auto bad = InitRuleFor("model.layers.0.attn.Wk.weight", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Wk"), std::string::npos);
}

// Truncation bounds, empirical σ of the truncated normal, ones/zeros, determinism.
TEST(MegatronInit, DistributionAndBounds) {
  InitOptions o;
  o.num_hidden_layers = 4;
  o.hidden_size = 64;
  o.seed = 17;
  TensorTable t = TinyTable(2000, 64, 96, 4);
  ASSERT_TRUE(MegatronInit(o, &t).ok());
  // Std of N(0, σ²) truncated at ±2σ: σ·sqrt(1 − 4φ(2)/(Φ(2) − Φ(−2))) = 0.87963σ.
  const double trunc_factor = 0.87963;
  for (const auto& [name, x] : t) {
    auto rule = InitRuleFor(name, o);
    ASSERT_TRUE(rule.ok());
    if (rule->kind != InitRule::Kind::kTruncNormal) {
      const float want = rule->kind == InitRule::Kind::kOnes ? 1.0f : 0.0f;
      for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(x.data()[i], want) << name;
      continue;
    }
    const double s = rule->std;
    double sum = 0, sq = 0;
    int64_t beyond_1sigma = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double v = x.data()[i];
      ASSERT_LE(std::fabs(v), 2 * s * (1 + 1e-7)) << name;
      sum += v;
      sq += v * v;
      beyond_1sigma += std::fabs(v) > s;
    }
    const double n = static_cast<double>(x.numel());
    const double emp_std = std::sqrt(sq / n - (sum / n) * (sum / n));
    // Relative standard error of a std estimate ~ 1/sqrt(2n) (<= 2% for the 4096-element
    // Wo); 5 standard errors.
    EXPECT_NEAR(emp_std / (s * trunc_factor), 1.0, 5.0 / std::sqrt(2 * n)) << name;
    EXPECT_NEAR(sum / n, 0.0, 5 * s / std::sqrt(n)) << name;
    // Mass beyond ±1σ of the truncated law: 2(Φ(2) − Φ(1))/(Φ(2) − Φ(−2)) = 0.28476.
    const double p = 0.28476;
    EXPECT_NEAR(beyond_1sigma / n, p, 5 * std::sqrt(p * (1 - p) / n)) << name;
  }

  // Same seed -> same values, whatever else is in the table; another seed -> different values.
  TensorTable one;
  one.emplace("model.layers.2.mlp.Wi.weight", Tensor({192, 64}));
  ASSERT_TRUE(MegatronInit(o, &one).ok());
  const Tensor& a = t.at("model.layers.2.mlp.Wi.weight");
  const Tensor& b = one.at("model.layers.2.mlp.Wi.weight");
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]);
  o.seed = 18;
  ASSERT_TRUE(MegatronInit(o, &one).ok());
  EXPECT_NE(a.data()[0], one.at("model.layers.2.mlp.Wi.weight").data()[0]);

  TensorTable unknown;
  unknown.emplace("model.pooler.weight", Tensor({4, 4}));
  EXPECT_FALSE(MegatronInit(o, &unknown).ok());
}

TEST(Tiling, LayerMapMatchesReference) {
  // Reference §5.7: ModernBERT-large (28 layers) from base (22), Python round-half-even.
  EXPECT_EQ(TileLayerMap(22, 28),
            (std::vector<int>{0,  1,  2,  2,  3,  4,  5,  6,  6,  7,  8,  9,  9,  10,
                              11, 12, 13, 13, 14, 15, 16, 16, 17, 18, 19, 20, 20, 21}));
  EXPECT_EQ(TileLayerMap(3, 4), (std::vector<int>{0, 1, 2, 2}));  // 1.5 -> 2 (half-even)
  EXPECT_EQ(TileLayerMap(2, 4), (std::vector<int>{0, 0, 1, 1}));  // 0.5 -> 0; 1.5 -> 2, clamped
}

Tensor Iota(std::vector<int64_t> shape, float base) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = base + static_cast<float>(i);
  return t;
}

TEST(Tiling, CentreBlockAndWraparound) {
  const Tensor src = Iota({4, 6}, 0);  // src[r, c] = 6r + c
  Tensor dst({8, 10});                 // off_r = 2, off_c = 2
  TileCentre(src, &dst);
  auto at = [&](int64_t i, int64_t j) { return dst.data()[i * 10 + j]; };
  // The old tensor sits exactly in the middle.
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 6; ++c) EXPECT_EQ(at(r + 2, c + 2), src.data()[r * 6 + c]);
  // Borders wrap around: dst[0,0] = src[(0−2) mod 4, (0−2) mod 6] = src[2, 4].
  EXPECT_EQ(at(0, 0), 6 * 2 + 4);
  EXPECT_EQ(at(1, 9), 6 * 3 + 1);  // src[(1−2) mod 4 = 3, (9−2) mod 6 = 1]
  EXPECT_EQ(at(7, 0), 6 * 1 + 4);  // src[(7−2) mod 4 = 1, 4]
  EXPECT_EQ(at(6, 8), 6 * 0 + 0);  // src[0, 0] again one period later

  // 1-D with an odd growth: off = (7 − 4) // 2 = 1.
  const Tensor v = Iota({4}, 10);
  Tensor w({7});
  TileCentre(v, &w);
  EXPECT_EQ(std::vector<float>(w.data(), w.data() + 7),
            (std::vector<float>{13, 10, 11, 12, 13, 10, 11}));

  // Same size is a copy (e.g. decoder.bias); rows unchanged, columns tiled (the embedding).
  Tensor same({4});
  TileCentre(v, &same);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(same.data()[i], v.data()[i]);
  Tensor emb({4, 10});
  TileCentre(src, &emb);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 6; ++c) EXPECT_EQ(emb.data()[r * 10 + c + 2], src.data()[r * 6 + c]);
}

// Wqkv: each of q, k, v is tiled on its own, so no part leaks into another, and with a head
// dim of 2 the offset of one head keeps head boundaries (like 768 -> 1024 = 2 heads of 64).
TEST(Tiling, FusedPartsStaySeparate) {
  const int64_t C = 4, C2 = 8;
  Tensor src({3 * C, C});
  for (int p = 0; p < 3; ++p)
    for (int64_t i = 0; i < C * C; ++i) src.data()[p * C * C + i] = 100.0f * (p + 1) + i;
  Tensor dst({3 * C2, C2});
  TileCentreFused(src, &dst, 3);
  for (int p = 0; p < 3; ++p) {
    for (int64_t i = 0; i < C2; ++i)
      for (int64_t j = 0; j < C2; ++j) {
        const float v = dst.data()[(p * C2 + i) * C2 + j];
        EXPECT_GE(v, 100.0f * (p + 1));
        EXPECT_LT(v, 100.0f * (p + 1) + C * C);
        // Exact: the part's own tiling.
        const int64_t si = ((i - 2) % C + C) % C, sj = ((j - 2) % C + C) % C;
        EXPECT_EQ(v, src.data()[p * C * C + si * C + sj]);
      }
  }
  // Tiling the fused matrix as one block would mix parts; make sure that differs.
  Tensor whole({3 * C2, C2});
  TileCentre(src, &whole);
  EXPECT_NE(whole.data()[0], dst.data()[0]);
}

// The base -> large shapes of reference §5.7: Wqkv [3·768, 768] -> [3·1024, 1024] with offset
// 128 = 2 heads of 64, so new heads 2-13 are old heads 0-11, new heads 0,1 are old 10,11 and new
// 14,15 are old 0,1; Wi [2·1152, 768] -> [2·2624, 1024] with offset 736 per half.
TEST(Tiling, BaseToLargeHeadBoundaries) {
  Tensor qkv({3 * 768, 768});
  for (int64_t r = 0; r < 3 * 768; ++r)
    for (int64_t c = 0; c < 768; ++c) qkv.data()[r * 768 + c] = static_cast<float>(r * 1000 + c);
  Tensor big({3 * 1024, 1024});
  TileCentreFused(qkv, &big, 3);
  auto old_head_of = [](int new_head) {
    if (new_head >= 2 && new_head <= 13) return new_head - 2;
    return new_head < 2 ? new_head + 10 : new_head - 14;
  };
  for (int p = 0; p < 3; ++p)
    for (int h = 0; h < 16; ++h)
      for (int d : {0, 37, 63}) {
        const int64_t new_row = p * 1024 + h * 64 + d;
        const int64_t old_row = p * 768 + old_head_of(h) * 64 + d;
        // Column 128 of the new matrix is old column 0.
        EXPECT_EQ(big.data()[new_row * 1024 + 128], static_cast<float>(old_row * 1000))
            << "part " << p << " head " << h;
      }
  Tensor wi({2 * 1152, 4}), wi_big({2 * 2624, 4});
  for (int64_t i = 0; i < wi.numel(); ++i) wi.data()[i] = static_cast<float>(i / 4);
  TileCentreFused(wi, &wi_big, 2);
  EXPECT_EQ(wi_big.data()[736 * 4], 0.0f);              // input half: old row 0
  EXPECT_EQ(wi_big.data()[0], 416.0f);                  // (0 − 736) mod 1152
  EXPECT_EQ(wi_big.data()[(2624 + 736) * 4], 1152.0f);  // gate half starts at old gate row 0
  EXPECT_EQ(wi_big.data()[(2 * 2624 - 1) * 4], 1152.0f + (2623 - 736) % 1152);
}

TEST(Tiling, WholeTableFromSmaller) {
  const int64_t V = 10, C = 4, I = 6, C2 = 8, I2 = 10;
  TensorTable src = TinyTable(V, C, I, 3);
  float k = 0;
  for (auto& [n, t] : src)
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = k++;
  TensorTable dst = TinyTable(V, C2, I2, 4);
  for (auto& [n, t] : dst) std::fill(t.data(), t.data() + t.numel(), -1.0f);
  auto r = TileFromSmaller(src, 3, &dst, 4);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->empty());
  // Layer map 3 -> 4 is [0, 1, 2, 2]: new layer 3 copies old layer 2's tiled weights.
  const std::vector<int> map{0, 1, 2, 2};
  for (int i = 0; i < 4; ++i) {
    const std::string np = "model.layers." + std::to_string(i) + ".";
    const std::string op = "model.layers." + std::to_string(map[i]) + ".";
    Tensor want({2 * I2, C2});
    TileCentreFused(src.at(op + "mlp.Wi.weight"), &want, 2);
    const Tensor& got = dst.at(np + "mlp.Wi.weight");
    for (int64_t e = 0; e < got.numel(); ++e) ASSERT_EQ(got.data()[e], want.data()[e]) << np;
    Tensor wo({C2, I2});
    TileCentre(src.at(op + "mlp.Wo.weight"), &wo);
    EXPECT_EQ(dst.at(np + "mlp.Wo.weight").data()[5], wo.data()[5]);
  }
  for (const auto& [n, t] : dst)
    for (int64_t e = 0; e < t.numel(); ++e) ASSERT_NE(t.data()[e], -1.0f) << n << " not filled";
  // decoder.bias has the same size: copied.
  for (int64_t e = 0; e < V; ++e)
    EXPECT_EQ(dst.at("decoder.bias").data()[e], src.at("decoder.bias").data()[e]);

  // 2 -> 4 layers: new layer 1 maps to old layer 0, which has no attn_norm: left as initialised.
  TensorTable src2 = TinyTable(V, C, I, 2);
  TensorTable dst2 = TinyTable(V, C2, I2, 4);
  auto r2 = TileFromSmaller(src2, 2, &dst2, 4);
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  EXPECT_EQ(*r2, (std::vector<std::string>{"model.layers.1.attn_norm.weight"}));

  // A missing source tensor is an error naming it.
  TensorTable src3 = TinyTable(V, C, I, 3, /*with_bias=*/false);
  TensorTable dst3 = TinyTable(V, C2, I2, 4);
  auto r3 = TileFromSmaller(src3, 3, &dst3, 4);
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.status().message().find("decoder.bias"), std::string::npos);
}

}  // namespace
}  // namespace mbert
