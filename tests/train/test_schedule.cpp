#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "train/schedule.h"

namespace mbert {
namespace {

LrSchedule Make(const LrScheduleConfig& c) {
  auto s = LrSchedule::Create(c);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return std::move(s).value();
}

// Pre-training phase of ModernBERT-base: 3B-token warmup, then constant (t_decay 0).
TEST(LrSchedule, WarmupThenConstant) {
  LrScheduleConfig c;
  c.peak_lr = 8e-4;
  c.warmup = 3'000'000'000;
  const LrSchedule s = Make(c);
  EXPECT_DOUBLE_EQ(s.Multiplier(0), 1e-10);  // Composer alpha_i
  EXPECT_DOUBLE_EQ(s.Multiplier(1'500'000'000), 1e-10 + 0.5 * (1 - 1e-10));
  EXPECT_DOUBLE_EQ(s.Multiplier(750'000'000), 1e-10 + 0.25 * (1 - 1e-10));
  EXPECT_DOUBLE_EQ(s.Multiplier(3'000'000'000), 1.0);
  EXPECT_DOUBLE_EQ(s.Multiplier(1'719'000'000'000), 1.0);
  EXPECT_DOUBLE_EQ(s.Lr(1'500'000'000), 8e-4 * (1e-10 + 0.5 * (1 - 1e-10)));
  EXPECT_DOUBLE_EQ(s.Lr(2'000'000'000'000), 8e-4);
}

// Context-extension phase 2: 1−sqrt decay to 0.001 over all 50B tokens, no warmup.
TEST(LrSchedule, OneMinusSqrtDecay) {
  LrScheduleConfig c;
  c.peak_lr = 3e-4;
  c.decay = 50'000'000'000;
  c.total = 50'000'000'000;
  c.alpha_f = 0.001;
  c.shape = DecayShape::kOneMinusSqrt;
  const LrSchedule s = Make(c);
  EXPECT_DOUBLE_EQ(s.Multiplier(0), 1.0);
  EXPECT_DOUBLE_EQ(s.Multiplier(12'500'000'000), 0.001 + 0.999 * (1 - 0.5));  // sqrt(1/4)
  EXPECT_DOUBLE_EQ(s.Multiplier(32'000'000'000), 0.001 + 0.999 * (1 - 0.8));  // sqrt(16/25)
  EXPECT_DOUBLE_EQ(s.Multiplier(50'000'000'000), 0.001);
  EXPECT_DOUBLE_EQ(s.Multiplier(60'000'000'000), 0.001);  // clamped at alpha_f
  // Monotone non-increasing.
  double prev = 2.0;
  for (int64_t t = 0; t <= 50'000'000'000; t += 1'000'000'000) {
    EXPECT_LE(s.Multiplier(t), prev);
    prev = s.Multiplier(t);
  }
}

// Full warmup-stable-decay in steps with both decay shapes.
TEST(LrSchedule, WarmupStableDecayInSteps) {
  LrScheduleConfig c;
  c.unit = ScheduleUnit::kSteps;
  c.peak_lr = 1.0;
  c.warmup = 100;
  c.decay = 400;
  c.total = 1000;
  c.alpha_f = 0.1;
  c.shape = DecayShape::kLinear;
  const LrSchedule lin = Make(c);
  c.shape = DecayShape::kOneMinusSqrt;
  const LrSchedule sq = Make(c);
  for (const LrSchedule* s : {&lin, &sq}) {
    EXPECT_DOUBLE_EQ(s->Multiplier(50), 1e-10 + 0.5 * (1 - 1e-10));
    EXPECT_DOUBLE_EQ(s->Multiplier(100), 1.0);
    EXPECT_DOUBLE_EQ(s->Multiplier(600), 1.0);  // decay starts at total − decay
    EXPECT_NEAR(s->Multiplier(1000), 0.1, 1e-15);
  }
  EXPECT_DOUBLE_EQ(lin.Multiplier(700), 1 - 0.25 * 0.9);
  EXPECT_DOUBLE_EQ(sq.Multiplier(700), 0.1 + 0.9 * (1 - 0.5));
  // Past the end the linear form keeps falling (to 0), the 1−sqrt form holds alpha_f.
  EXPECT_NEAR(lin.Multiplier(1200), std::max(0.0, 1 - 1.5 * 0.9), 1e-15);
  EXPECT_DOUBLE_EQ(sq.Multiplier(1200), 0.1);
}

TEST(LrSchedule, RejectsInconsistentConfig) {
  LrScheduleConfig c;
  c.decay = 100;
  c.total = 50;
  EXPECT_FALSE(LrSchedule::Create(c).ok());
  c.total = 200;
  c.warmup = 150;  // overlaps the decay phase
  EXPECT_FALSE(LrSchedule::Create(c).ok());
  c.warmup = 0;
  c.alpha_f = 2.0;
  EXPECT_FALSE(LrSchedule::Create(c).ok());
  EXPECT_FALSE(ParseDecayShape("cosine").ok());
  EXPECT_EQ(ParseDecayShape("1-sqrt").value(), DecayShape::kOneMinusSqrt);
  EXPECT_EQ(ParseScheduleUnit("tok").value(), ScheduleUnit::kTokens);
}

// Reference §3.5: per-rank thresholds of ModernBERT-base (1 -> 6 rows over 50B tokens, 8 ranks)
// and -large (1 -> 11 rows over 10B tokens).
TEST(BatchSizeWarmup, ReferenceThresholds) {
  auto base = BatchSizeWarmup::Create(1, 6, 50'000'000'000, 8);
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->thresholds(), (std::vector<int64_t>{416'666'667, 1'250'000'000, 2'500'000'000,
                                                      4'166'666'667, 6'250'000'000}));
  EXPECT_EQ(base->Rows(0), 1);
  EXPECT_EQ(base->Rows(416'666'666), 1);
  EXPECT_EQ(base->Rows(416'666'667), 2);
  EXPECT_EQ(base->Rows(4'166'666'667), 5);
  EXPECT_EQ(base->Rows(6'249'999'999), 5);
  EXPECT_EQ(base->Rows(6'250'000'000), 6);
  EXPECT_EQ(base->Rows(100'000'000'000), 6);

  auto large = BatchSizeWarmup::Create(1, 11, 10'000'000'000, 8);
  ASSERT_TRUE(large.ok());
  ASSERT_EQ(large->thresholds().size(), 10u);
  EXPECT_EQ(large->thresholds().front(), 22'727'273);
  EXPECT_EQ(large->thresholds().back(), 1'250'000'000);

  EXPECT_FALSE(BatchSizeWarmup::Create(3, 2, 100).ok());
  auto none = BatchSizeWarmup::Create(4, 4, 1000);  // min == max: no warmup
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->Rows(0), 4);
}

// The defining property: a simulated run spends the same number of optimizer steps at every
// batch size. Each step emits Rows() packed rows of P slots at a given packing efficiency.
TEST(BatchSizeWarmup, EqualStepsPerBatchSize) {
  for (double efficiency : {1.0, 0.97}) {
    const int min_rows = 1, max_rows = 6;
    const int64_t row_slots = 1000;
    const int64_t warmup = 15'000'000;  // W / (S·P) = 15e6 / (15·1000) = 1000 steps per size
    auto bsw = BatchSizeWarmup::Create(min_rows, max_rows, warmup);
    ASSERT_TRUE(bsw.ok());
    std::map<int, int64_t> steps;
    int64_t tokens = 0;
    while (true) {
      const int rows = bsw->Rows(tokens);
      if (rows == max_rows) break;
      ++steps[rows];
      tokens += static_cast<int64_t>(std::llround(rows * row_slots * efficiency));
    }
    ASSERT_EQ(steps.size(), static_cast<size_t>(max_rows - min_rows));
    const double expected = warmup / (15.0 * row_slots * efficiency);
    for (const auto& [rows, n] : steps) {
      EXPECT_NEAR(static_cast<double>(n), expected, 1.0) << rows << " rows, eff " << efficiency;
    }
  }
}

}  // namespace
}  // namespace mbert
