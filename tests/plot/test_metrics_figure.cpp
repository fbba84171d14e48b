// The metrics.jsonl reader (fields, gaps, errors naming FILE:LINE) and the training figure: which
// colours land in which panel, and where.
#include <gtest/gtest.h>

#include <fstream>

#include "plot/metrics_log.h"
#include "plot/png.h"
#include "plot/training_figure.h"
#include "png_reader.h"

namespace mbert::plot {
namespace {

// The series colours of training_figure.cpp.
constexpr Rgb kLossColor{31, 119, 180};
constexpr Rgb kEvalColor{230, 110, 20};
constexpr Rgb kAccuracyColor{44, 160, 44};

std::string Sample(bool with_tokens = true) {
  std::string s = "{\"step\":0,\"eval_loss\":10.5,\"eval_accuracy\":0.0}\n";
  for (int step = 1; step <= 100; ++step) {
    s += "{\"step\":" + std::to_string(step) + ",\"loss\":" + std::to_string(10.0 - step * 0.05) +
         ",\"grad_norm\":1.0,\"lr\":" + std::to_string(step < 10 ? step * 1e-4 : 1e-3);
    if (with_tokens) s += ",\"tokens_seen\":" + std::to_string(step * 512);
    s += "}\n";
    if (step % 25 == 0)
      s += "{\"step\":" + std::to_string(step) +
           ",\"eval_loss\":" + std::to_string(10.0 - step * 0.04) +
           ",\"eval_accuracy\":" + std::to_string(step * 0.003) +
           ",\"eval_loss/wiki\":9.0,\"eval_accuracy/wiki\":0.2}\n";
  }
  return s;
}

TEST(MetricsLog, ReadsTrainingAndEvalLines) {
  auto log = ParseMetricsLog(Sample(), "m.jsonl");
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_EQ(log->loss.size(), 100u);
  EXPECT_EQ(log->lr.size(), 100u);
  EXPECT_EQ(log->tokens_seen.size(), 100u);
  EXPECT_EQ(log->eval_loss.size(), 5u);
  EXPECT_EQ(log->eval_accuracy.size(), 5u);
  EXPECT_EQ(log->eval_loss.front().step, 0);
  EXPECT_DOUBLE_EQ(log->eval_loss.front().value, 10.5);
  ASSERT_EQ(log->eval_loss_by_source.count("wiki"), 1u);
  EXPECT_EQ(log->eval_loss_by_source.at("wiki").size(), 4u);
  EXPECT_EQ(log->eval_accuracy_by_source.at("wiki").size(), 4u);
  EXPECT_FALSE(log->skipped_partial_last_line);
  EXPECT_DOUBLE_EQ(TokensAtStep(log.value(), 50), 25600);
  EXPECT_DOUBLE_EQ(TokensAtStep(log.value(), 0), 0);
}

TEST(MetricsLog, FineTuneEvalObjectsNullGapsBlankLinesAndOrder) {
  const std::string text =
      "{\"step\":2,\"loss\":0.5,\"lr\":1e-3}\n"
      "\n"
      "{\"step\":1,\"loss\":0.7,\"lr\":1e-3}\n"
      "{\"step\":3,\"loss\":null}\n"
      "{\"best\":true,\"eval\":{\"loss\":0.4,\"accuracy\":0.8},\"step\":3}\n";
  auto log = ParseMetricsLog(text, "ft.jsonl");
  ASSERT_TRUE(log.ok()) << log.status().message();
  ASSERT_EQ(log->loss.size(), 2u);  // the null is a gap
  EXPECT_EQ(log->loss[0].step, 1);  // sorted by step
  ASSERT_EQ(log->eval_loss.size(), 1u);
  EXPECT_DOUBLE_EQ(log->eval_accuracy[0].value, 0.8);
}

TEST(MetricsLog, ErrorsNameFileLineAndFix) {
  auto not_json =
      ParseMetricsLog("{\"step\":1,\"loss\":2}\n{\"step\":2,\"lo\n{\"step\":3}\n", "r/m.jsonl");
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.status().message().find("r/m.jsonl:2: not JSON"), std::string::npos)
      << not_json.status().message();
  EXPECT_NE(not_json.status().message().find("fix or delete that line"), std::string::npos);

  auto no_step = ParseMetricsLog("{\"loss\":2}\n", "m.jsonl");
  ASSERT_FALSE(no_step.ok());
  EXPECT_NE(no_step.status().message().find("m.jsonl:1: field 'step'"), std::string::npos);
  EXPECT_FALSE(ParseMetricsLog("{\"step\":-3,\"loss\":2}\n", "m").ok());
  EXPECT_FALSE(ParseMetricsLog("{\"step\":1.5,\"loss\":2}\n", "m").ok());
  EXPECT_FALSE(ParseMetricsLog("[1,2]\n", "m").ok());

  auto bad_value = ParseMetricsLog("{\"step\":1,\"eval_loss/web\":\"high\"}\n", "m.jsonl");
  ASSERT_FALSE(bad_value.ok());
  EXPECT_NE(bad_value.status().message().find("field 'eval_loss/web' must be a number"),
            std::string::npos)
      << bad_value.status().message();

  auto overflow = ParseMetricsLog("{\"step\":1,\"loss\":1e400}\n", "m.jsonl");
  ASSERT_FALSE(overflow.ok());
  EXPECT_NE(overflow.status().message().find("m.jsonl:1"), std::string::npos);
}

TEST(MetricsLog, UnfinishedLastLineIsSkipped) {
  auto log = ParseMetricsLog("{\"step\":1,\"loss\":2}\n{\"step\":2,\"lo", "m.jsonl");
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_TRUE(log->skipped_partial_last_line);
  EXPECT_EQ(log->loss.size(), 1u);
}

TEST(MetricsLog, MissingFileAndNothingToPlot) {
  auto missing = ReadMetricsLog(::testing::TempDir() + "/no/such/metrics.jsonl");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no/such/metrics.jsonl"), std::string::npos);
  const std::string path = ::testing::TempDir() + "/plot_empty_metrics.jsonl";
  std::ofstream(path) << "{\"step\":1,\"grad_norm\":3}\n";
  auto empty = ReadMetricsLog(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("nothing to plot"), std::string::npos);
}

TEST(TrainingFigure, MovingAverageIsBiasCorrected) {
  const std::vector<double> ema = MovingAverage({4, 4, 4, 4}, 0.9);
  for (double v : ema) EXPECT_NEAR(v, 4, 1e-12);
  const std::vector<double> step = MovingAverage({0, 10}, 0.5);
  EXPECT_DOUBLE_EQ(step[0], 0);
  EXPECT_NEAR(step[1], 10 * 0.5 / 0.75, 1e-12);
  EXPECT_EQ(MovingAverage({1, 2, 3}, 0), (std::vector<double>{1, 2, 3}));
}

struct Box {
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1, count = 0;
};
Box Where(const Canvas& c, Rgb color) {
  Box b;
  for (int y = 0; y < c.height(); ++y)
    for (int x = 0; x < c.width(); ++x)
      if (c.At(x, y) == color) {
        b.x0 = std::min(b.x0, x);
        b.x1 = std::max(b.x1, x);
        b.y0 = std::min(b.y0, y);
        b.y1 = std::max(b.y1, y);
        ++b.count;
      }
  return b;
}

TEST(TrainingFigure, SeriesLandInTheirPanels) {
  auto log = ParseMetricsLog(Sample(), "m.jsonl");
  ASSERT_TRUE(log.ok());
  FigureOptions o;
  auto fig = RenderTrainingFigure(log.value(), o);
  ASSERT_TRUE(fig.ok()) << fig.status().message();
  EXPECT_EQ(fig->width(), 900);
  EXPECT_EQ(fig->height(), 600);
  const Box loss = Where(fig.value(), kLossColor), eval = Where(fig.value(), kEvalColor),
            acc = Where(fig.value(), kAccuracyColor);
  ASSERT_GT(loss.count, 100);
  ASSERT_GT(eval.count, 50);
  ASSERT_GT(acc.count, 50);
  // Loss and eval loss in the top panel (3/5 of the plot height), accuracy below it.
  EXPECT_LT(loss.y1, 360);
  EXPECT_LT(eval.y1, 360);
  EXPECT_GT(acc.y0, 330);
  // The falling loss: its line spans most of the width and falls left to right.
  EXPECT_GT(loss.x1 - loss.x0, 500);
  int left_y = -1, right_y = -1;
  for (int y = 0; y < 360 && (left_y < 0 || right_y < 0); ++y) {
    if (left_y < 0 && fig->At(loss.x0 + 30, y) == kLossColor) left_y = y;
    if (right_y < 0 && fig->At(loss.x1 - 30, y) == kLossColor) right_y = y;
  }
  ASSERT_GE(left_y, 0);
  ASSERT_GE(right_y, 0);
  EXPECT_LT(left_y, right_y);  // higher loss is higher up
  // The PNG holds exactly the canvas.
  const testing::DecodedPng d = testing::DecodePng(EncodePng(fig.value()).value());
  ASSERT_EQ(d.error, "");
  EXPECT_EQ(d.rgb, fig->rgb());
}

TEST(TrainingFigure, FlatLossIsAHorizontalLine) {
  std::string text;
  for (int step = 1; step <= 50; ++step)
    text += "{\"step\":" + std::to_string(step) + ",\"loss\":3.0}\n";
  text += "{\"step\":50,\"eval_loss\":2.0}\n{\"step\":25,\"eval_loss\":4.0}\n";
  auto log = ParseMetricsLog(text, "m");
  ASSERT_TRUE(log.ok());
  FigureOptions o;
  o.width = 640;
  o.height = 400;
  auto fig = RenderTrainingFigure(log.value(), o);
  ASSERT_TRUE(fig.ok()) << fig.status().message();
  // Rows holding a long run of the loss colour (the legend's short sample has the colour too):
  // the line, 2.5 pixels wide, lies in at most three adjacent rows.
  std::vector<int> rows;
  for (int y = 0; y < fig->height(); ++y) {
    int n = 0;
    for (int x = 0; x < fig->width(); ++x) n += fig->At(x, y) == kLossColor;
    if (n > 400) rows.push_back(y);
  }
  ASSERT_FALSE(rows.empty());
  EXPECT_LE(rows.back() - rows.front(), 2);
}

TEST(TrainingFigure, TokensAxisAndOptionErrors) {
  auto log = ParseMetricsLog(Sample(), "m");
  ASSERT_TRUE(log.ok());
  FigureOptions o;
  o.x = XAxis::kTokens;
  EXPECT_TRUE(RenderTrainingFigure(log.value(), o).ok());
  auto no_tokens = ParseMetricsLog(Sample(false), "m");
  auto r = RenderTrainingFigure(no_tokens.value(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tokens_seen"), std::string::npos);
  o.x = XAxis::kStep;
  o.width = 50;
  EXPECT_NE(RenderTrainingFigure(log.value(), o).status().message().find("--width"),
            std::string::npos);
  o.width = 900;
  o.height = 100000;
  EXPECT_FALSE(RenderTrainingFigure(log.value(), o).ok());
  o.height = 600;
  o.smoothing = 1;
  EXPECT_FALSE(RenderTrainingFigure(log.value(), o).ok());
}

TEST(TrainingFigure, OnlyAccuracyOrOnlyLrStillDraws) {
  for (const char* text : {"{\"step\":5,\"eval_accuracy\":0.5}\n", "{\"step\":5,\"lr\":1e-3}\n",
                           "{\"step\":5,\"loss\":1e308}\n{\"step\":6,\"loss\":-1e308}\n"}) {
    auto log = ParseMetricsLog(text, "m");
    ASSERT_TRUE(log.ok());
    EXPECT_TRUE(RenderTrainingFigure(log.value(), FigureOptions{}).ok()) << text;
  }
}

}  // namespace
}  // namespace mbert::plot
