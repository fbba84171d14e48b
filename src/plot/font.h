// A 5x7 bitmap font for printable ASCII (32..126), drawn at an integer scale: tick labels,
// legends and titles of the training plots. Each glyph sits in a cell one column wider than
// itself (the spacing between characters); g, j, p, q and y reach two rows below the other
// glyphs' seven (descenders). Characters outside 32..126 are drawn as '?'.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "plot/canvas.h"

namespace mbert::plot {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kDescent = 2;    // rows below the baseline, used by g j p q y only
constexpr int kCellWidth = 6;  // glyph plus one column of spacing

// Row r (0 = top) of the glyph of `c`: bit 4 is the leftmost pixel.
using GlyphRows = std::array<uint8_t, kGlyphHeight + kDescent>;
const GlyphRows& Glyph(char c);

// Width and height in pixels of `text` drawn at `scale` (no trailing spacing column; the height
// is that of capitals and digits, descenders reach below it).
int TextWidth(std::string_view text, int scale);
inline int TextHeight(int scale) { return kGlyphHeight * scale; }

// Draws `text` with its top-left corner at (x, y).
void DrawText(Canvas& canvas, int x, int y, std::string_view text, Rgb color, int scale);
// Draws `text` rotated 90 degrees counter-clockwise (read from bottom to top), its bounding box's
// top-left corner at (x, y): the box is TextHeight wide and TextWidth tall.
void DrawTextUp(Canvas& canvas, int x, int y, std::string_view text, Rgb color, int scale);

}  // namespace mbert::plot
