// The raster canvas, the bitmap font and the PNG encoder, the PNG read back by an independent
// reader (png_reader.h: CRCs, zlib inflate, scanline filters).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "plot/canvas.h"
#include "plot/font.h"
#include "plot/png.h"
#include "plot/ticks.h"
#include "png_reader.h"

namespace mbert::plot {
namespace {

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kRed{200, 0, 0};

TEST(Canvas, WideLineCoversItsWidthOnly) {
  Canvas c(40, 20, kWhite);
  c.Line(5, 10, 35, 10, kRed, 3);  // rows 8.5 .. 11.5 covered
  for (int x = 6; x < 34; ++x) {
    EXPECT_EQ(c.At(x, 9), kRed) << x;
    EXPECT_EQ(c.At(x, 10), kRed) << x;
    EXPECT_EQ(c.At(x, 5), kWhite) << x;
    EXPECT_EQ(c.At(x, 14), kWhite) << x;
  }
  EXPECT_EQ(c.At(38, 10), kWhite);
}

TEST(Canvas, SteepLineAndDisc) {
  Canvas c(30, 30, kWhite);
  c.Line(15, 2, 16, 28, kRed, 2);
  EXPECT_EQ(c.At(15, 15), kRed);
  EXPECT_EQ(c.At(5, 15), kWhite);
  c.Disc(5.5, 5.5, 3, kRed);
  EXPECT_EQ(c.At(5, 5), kRed);
  EXPECT_EQ(c.At(5, 1), kWhite);
  EXPECT_EQ(c.At(1, 1), kWhite);
}

TEST(Canvas, ClipAndAbsurdCoordinates) {
  Canvas c(20, 20, kWhite);
  c.SetClip({0, 0, 10, 20});
  c.Line(0, 5, 20, 5, kRed, 2);
  EXPECT_EQ(c.At(5, 5), kRed);
  EXPECT_EQ(c.At(15, 5), kWhite);
  c.ResetClip();
  const double inf = std::numeric_limits<double>::infinity();
  c.Line(0, 15, inf, 15, kRed, 2);           // nothing
  c.Line(-1e300, 15, 1e300, 15.5, kRed, 2);  // clamped to the canvas, no overflow
  c.Disc(std::nan(""), 3, 2, kRed);          // nothing
  EXPECT_EQ(c.At(10, 15), kRed);
  EXPECT_EQ(c.At(10, 19), kWhite);
}

TEST(Canvas, LightenMixesTowardWhite) {
  EXPECT_EQ(Lighten(kRed, 0), kRed);
  EXPECT_EQ(Lighten(kRed, 1), kWhite);
  EXPECT_EQ(Lighten(Rgb{0, 0, 0}, 0.5), (Rgb{128, 128, 128}));
}

TEST(Font, EveryPrintableCharacterHasAGlyph) {
  for (int ch = 33; ch <= 126; ++ch) {
    int lit = 0;
    for (uint8_t row : Glyph(static_cast<char>(ch))) lit += __builtin_popcount(row);
    EXPECT_GT(lit, 0) << "'" << static_cast<char>(ch) << "'";
  }
  for (uint8_t row : Glyph(' ')) EXPECT_EQ(row, 0);
  EXPECT_EQ(Glyph('\x7f'), Glyph('?'));
  EXPECT_EQ(Glyph('\xe9'), Glyph('?'));
  EXPECT_NE(Glyph('O'), Glyph('0'));
  EXPECT_EQ(TextWidth("", 2), 0);
  EXPECT_EQ(TextWidth("ab", 1), 11);
  EXPECT_EQ(TextWidth("ab", 2), 22);
}

TEST(Font, DrawsTheGlyphsBitsAtScale) {
  Canvas c(20, 20, kWhite);
  DrawText(c, 2, 3, "T", kRed, 2);  // "#####" then "..#.." for six rows
  for (int x = 2; x < 12; ++x) EXPECT_EQ(c.At(x, 3), kRed) << x;
  EXPECT_EQ(c.At(6, 10), kRed);  // the stem, third column
  EXPECT_EQ(c.At(2, 10), kWhite);
  Canvas up(20, 20, kWhite);
  DrawTextUp(up, 2, 3, "T", kRed, 1);  // the top bar becomes the left column, read upwards
  for (int y = 3; y < 8; ++y) EXPECT_EQ(up.At(2, y), kRed) << y;
  EXPECT_EQ(up.At(4, 5), kRed);
  EXPECT_EQ(up.At(4, 3), kWhite);
}

TEST(Png, RoundTripsEveryPixel) {
  Canvas c(37, 23, Rgb{10, 20, 30});
  c.FillRect({3, 4, 20, 9}, kRed);
  c.Line(0, 0, 36, 22, Rgb{0, 90, 255}, 1.5);
  DrawText(c, 1, 12, "Hi", kWhite, 1);
  auto png = EncodePng(c);
  ASSERT_TRUE(png.ok()) << png.status().message();
  const testing::DecodedPng d = testing::DecodePng(png.value());
  ASSERT_EQ(d.error, "");
  EXPECT_EQ(d.width, 37);
  EXPECT_EQ(d.height, 23);
  EXPECT_EQ(d.chunk_types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  EXPECT_EQ(d.rgb, c.rgb());
}

TEST(Png, ReaderCatchesACorruptByte) {
  Canvas c(8, 8, kRed);
  std::string png = EncodePng(c).value();
  png[png.size() / 2] ^= 0x40;
  EXPECT_NE(testing::DecodePng(png).error, "");
}

TEST(Ticks, NiceStepsAndLabels) {
  const Ticks t = NiceTicks(0, 300, 6);
  EXPECT_DOUBLE_EQ(t.step, 50);
  EXPECT_EQ(t.values, (std::vector<double>{0, 50, 100, 150, 200, 250, 300}));
  const Ticks u = NiceTicks(2.3, 11, 6);
  EXPECT_DOUBLE_EQ(u.step, 2);
  EXPECT_DOUBLE_EQ(u.values.front(), 2);
  EXPECT_DOUBLE_EQ(u.values.back(), 12);
  const Ticks flat = NiceTicks(5, 5, 5);  // an empty range is widened
  EXPECT_LT(flat.lo, 5);
  EXPECT_GT(flat.hi, 5);
  const Ticks tiny = NiceTicks(5e-324, 5e-324, 5);  // a subnormal: widened to +-1
  EXPECT_GT(tiny.values.size(), 1u);
  EXPECT_FALSE(TickLabel(5e-324, 0).empty());      // no step: still a label, no UB
  const Ticks huge = NiceTicks(-1e308, 1e308, 5);  // the span overflows: the two ends
  EXPECT_EQ(huge.values.size(), 2u);
  EXPECT_EQ(TickLabel(0.25, 0.05), "0.25");
  EXPECT_EQ(TickLabel(1500, 500), "1500");
  EXPECT_EQ(TickLabel(1.5e6, 5e5), "1.5M");
  EXPECT_EQ(TickLabel(20000, 10000), "20k");
  EXPECT_EQ(TickLabel(3e9, 1e9), "3G");
  EXPECT_EQ(TickLabel(2e-4, 1e-4), "2e-4");
  EXPECT_EQ(TickLabel(1.5e-4, 5e-5), "1.5e-4");
  EXPECT_EQ(TickLabel(0, 1e-4), "0");
}

}  // namespace
}  // namespace mbert::plot
