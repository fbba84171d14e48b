#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "batch/mlm_masking.h"
#include "batch/packed_batch.h"

namespace mbert {
namespace {

constexpr int32_t kPad = 50283, kMask = 50284, kCls = 50281, kSep = 50282;

// |observed - expected| within 5 binomial standard deviations.
void ExpectRate(int64_t hits, int64_t n, double p, const char* what) {
  const double sd = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(hits), n * p, 5 * sd + 1) << what;
}

TEST(MlmMasking, RatesAndLabelsFollowReference) {
  Rng gen(3);
  const int n = 200000;
  std::vector<int32_t> orig(n);
  for (int i = 0; i < n; ++i) {
    // One in four positions is padding, one in ten a special token, the rest text.
    const uint64_t u = gen.UniformInt(20);
    orig[i] = u < 5   ? kPad
              : u < 7 ? (u == 5 ? kCls : kSep)
                      : static_cast<int32_t>(gen.UniformInt(50000));
  }
  std::vector<int32_t> ids = orig, labels(n);
  Rng rng(17);
  MlmMaskingOptions opts;  // 30%, [MASK] 50284, [PAD] 50283
  MaskingCounts c = ApplyMlmMasking(std::span(ids), std::span(labels), opts, rng);

  int64_t non_pad = 0, pad = 0, pad_changed = 0, specials = 0, specials_selected = 0;
  int64_t sel = 0, masked = 0, randomized = 0, kept = 0;
  for (int i = 0; i < n; ++i) {
    if (orig[i] == kPad) {
      ++pad;
      EXPECT_EQ(labels[i], kIgnoreIndex) << "pad never carries a label";
      pad_changed += ids[i] != kPad;
      continue;
    }
    ++non_pad;
    const bool is_special = orig[i] == kCls || orig[i] == kSep;
    specials += is_special;
    if (labels[i] == kIgnoreIndex) {
      EXPECT_EQ(ids[i], orig[i]) << "unselected tokens are untouched";
      continue;
    }
    EXPECT_EQ(labels[i], orig[i]);
    ++sel;
    specials_selected += is_special;
    if (ids[i] == kMask) {
      ++masked;
    } else if (ids[i] == orig[i]) {
      ++kept;  // kept, or a random draw that hit the original id (probability ~2e-5)
    } else {
      ++randomized;
    }
  }
  ExpectRate(sel, non_pad, 0.30, "selected");
  ExpectRate(masked, non_pad, 0.24, "[MASK]");
  ExpectRate(randomized, non_pad, 0.03, "random");
  ExpectRate(kept, non_pad, 0.03, "kept");
  // Special tokens are selected like any other token (only padding is protected).
  ExpectRate(specials_selected, specials, 0.30, "specials selected");
  // Pad inputs still receive [MASK] (24%) or random ids (3%): their inputs change ~27% of the time.
  ExpectRate(pad_changed, pad, 0.27, "pad inputs replaced");
  EXPECT_EQ(c.selected, sel);
  EXPECT_EQ(c.masked, masked);
}

TEST(MlmMasking, RandomIdsSpanMaxAfterMaskSubstitution) {
  // Text ids in [0, 100) and a [MASK] id of 500: the random range is [0, 500] because the max is
  // taken after [MASK] substitution, so random ids above 99 must appear.
  const int n = 100000;
  std::vector<int32_t> ids(n), labels(n);
  Rng gen(1);
  for (auto& t : ids) t = static_cast<int32_t>(gen.UniformInt(100));
  const std::vector<int32_t> orig = ids;
  MlmMaskingOptions opts;
  opts.mask_token_id = 500;
  opts.pad_token_id = -1;
  Rng rng(2);
  ApplyMlmMasking(std::span(ids), std::span(labels), opts, rng);
  int64_t above = 0, n_random = 0;
  double sum = 0;
  int32_t hi = 0;
  for (int i = 0; i < n; ++i) {
    if (labels[i] == kIgnoreIndex || ids[i] == 500 || ids[i] == orig[i]) continue;
    ++n_random;
    sum += ids[i];
    hi = std::max(hi, ids[i]);
    above += ids[i] >= 100;
    ASSERT_GE(ids[i], 0);
    ASSERT_LE(ids[i], 500);
  }
  ASSERT_GT(n_random, 2000);
  EXPECT_GT(above, n_random * 3 / 4);  // 401 of 501 values lie above 99
  EXPECT_NEAR(sum / n_random, 250.0, 8.0);
  EXPECT_GT(hi, 490);
}

TEST(MlmMasking, ReproducibleAndRowsAreOneBatch) {
  std::vector<PackedBatch> rows = {PackedBatch::FromSequences({{1, 2, 3, 4}, {kPad, kPad}}),
                                   PackedBatch::FromSequences({{5, 6, 7, 8, 9, 10, 11}})};
  std::vector<PackedBatch> again = rows;
  std::vector<int32_t> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.input_ids.begin(), r.input_ids.end());
  std::vector<int32_t> flat_labels(flat.size());

  MlmMaskingOptions opts;
  opts.mlm_probability = 0.5;
  Rng a(9), b(9), c(9);
  ApplyMlmMasking(&rows, opts, a);
  ApplyMlmMasking(&again, opts, b);
  ApplyMlmMasking(std::span(flat), std::span(flat_labels), opts, c);
  size_t at = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r].input_ids, again[r].input_ids);
    EXPECT_EQ(rows[r].labels, again[r].labels);
    ASSERT_EQ(rows[r].labels.size(), rows[r].input_ids.size());
    EXPECT_TRUE(rows[r].Validate().ok());
    for (size_t i = 0; i < rows[r].input_ids.size(); ++i, ++at) {
      EXPECT_EQ(rows[r].input_ids[i], flat[at]);
      EXPECT_EQ(rows[r].labels[i], flat_labels[at]);
    }
  }
  EXPECT_EQ(a.state(), c.state());

  // Restoring the RNG state reproduces the next batch's mask exactly (resume).
  const Rng::State saved = a.state();
  std::vector<int32_t> x(64, 7), lx(64), y(64, 7), ly(64);
  ApplyMlmMasking(std::span(x), std::span(lx), opts, a);
  Rng restored(0);
  restored.set_state(saved);
  ApplyMlmMasking(std::span(y), std::span(ly), opts, restored);
  EXPECT_EQ(x, y);
  EXPECT_EQ(lx, ly);
}

TEST(EvalMasking, SpecialsNeverSelectedAndHfSplit) {
  const int n = 200000;
  Rng gen(4);
  std::vector<int32_t> orig(n);
  for (int i = 0; i < n; ++i) {
    const uint64_t u = gen.UniformInt(10);
    orig[i] = u == 0   ? kCls
              : u == 1 ? kSep
              : u == 2 ? kPad
                       : static_cast<int32_t>(gen.UniformInt(50000));
  }
  EvalMaskingOptions opts;
  opts.special_ids = {50280, kCls, kSep, kPad, kMask};
  ASSERT_TRUE(ValidateEvalMaskingOptions(opts).ok());
  PackedBatch b = PackedBatch::FromSequences({orig});
  Rng rng(11);
  MaskingCounts c = ApplyEvalMlmMasking(&b, opts, rng);
  int64_t text = 0, sel = 0, masked = 0, kept = 0, random = 0;
  for (int i = 0; i < n; ++i) {
    const bool special = orig[i] >= 50280;
    if (special) {
      EXPECT_EQ(b.labels[i], kIgnoreIndex);
      EXPECT_EQ(b.input_ids[i], orig[i]);
      continue;
    }
    ++text;
    if (b.labels[i] == kIgnoreIndex) {
      EXPECT_EQ(b.input_ids[i], orig[i]);
      continue;
    }
    EXPECT_EQ(b.labels[i], orig[i]);
    ++sel;
    if (b.input_ids[i] == kMask)
      ++masked;
    else if (b.input_ids[i] == orig[i])
      ++kept;
    else {
      ++random;
      EXPECT_GE(b.input_ids[i], 0);
      EXPECT_LT(b.input_ids[i], opts.vocab_size);
    }
  }
  ExpectRate(sel, text, 0.15, "eval selected");
  ExpectRate(masked, text, 0.12, "eval [MASK]");
  ExpectRate(random, text, 0.015, "eval random");
  ExpectRate(kept, text, 0.015, "eval kept");
  EXPECT_EQ(c.selected, sel);

  EvalMaskingOptions bad = opts;
  bad.mask_replace_prob = 0.95;
  bad.random_replace_prob = 0.1;
  EXPECT_FALSE(ValidateEvalMaskingOptions(bad).ok());
  MlmMaskingOptions bad_train;
  bad_train.mlm_probability = 1.5;
  EXPECT_FALSE(ValidateMlmMaskingOptions(bad_train).ok());
}

}  // namespace
}  // namespace mbert
