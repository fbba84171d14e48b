// An RGB raster with the few primitives a line chart needs: filled rectangles, anti-aliased lines
// of any width, filled discs (markers), all blended over what is there and clipped to a
// rectangle. Coordinates are pixels, x to the right and y down; a pixel's centre is at
// (x + 0.5, y + 0.5).
#pragma once

#include <cstdint>
#include <vector>

namespace mbert::plot {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// `c` mixed toward white: 0 keeps it, 1 is white (faint copies of a series' colour).
Rgb Lighten(Rgb c, double amount);

struct Rect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // [x0, x1) x [y0, y1)
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

class Canvas {
 public:
  // A canvas filled with `background`; both sides must be positive (a bug otherwise).
  Canvas(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }
  Rgb At(int x, int y) const;
  // Rows top to bottom, each `width` pixels of r, g, b bytes.
  const std::vector<uint8_t>& rgb() const { return rgb_; }

  // Drawing is limited to `clip` (intersected with the canvas) until ResetClip.
  void SetClip(Rect clip);
  void ResetClip();

  // Mixes `color` into pixel (x, y) with weight `coverage` in [0, 1]; outside the clip: nothing.
  void Blend(int x, int y, Rgb color, double coverage);
  void FillRect(Rect r, Rgb color);
  // A segment `width` pixels wide with round ends, anti-aliased. Non-finite ends draw nothing.
  void Line(double x0, double y0, double x1, double y1, Rgb color, double width);
  // A filled disc of `radius` pixels, anti-aliased.
  void Disc(double cx, double cy, double radius, Rgb color);

 private:
  int width_, height_;
  std::vector<uint8_t> rgb_;
  Rect clip_;
};

}  // namespace mbert::plot
