#include "plot/canvas.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace mbert::plot {

namespace {

uint8_t Mix(uint8_t under, uint8_t over, double coverage) {
  return static_cast<uint8_t>(std::lround(under + (over - under) * coverage));
}

// Distance from (px, py) to the segment (x0, y0)-(x1, y1).
double SegmentDistance(double px, double py, double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0, dy = y1 - y0;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

// A coordinate that may lie far outside the canvas, as an int clamped to [lo, hi].
int ClampToInt(double v, int lo, int hi) {
  if (!(v > lo)) return lo;
  if (!(v < hi)) return hi;
  return static_cast<int>(v);
}

// Cuts the segment to lo <= a <= hi along one axis, moving the other coordinate b along it;
// false when it misses. The slope comes from halves, so ends near the largest doubles do not
// overflow, and the cut ends are found from the slope rather than from a fraction of the
// length, which keeps them exact when the ends lie very far away.
bool ClipAxis(double& a0, double& b0, double& a1, double& b1, double lo, double hi) {
  if (a0 > a1) {
    std::swap(a0, a1);
    std::swap(b0, b1);
  }
  if (a1 < lo || a0 > hi) return false;
  const double slope = a1 == a0 ? 0 : (b1 * 0.5 - b0 * 0.5) / (a1 * 0.5 - a0 * 0.5);
  if (a0 < lo) {
    b0 += (lo - a0) * slope;
    a0 = lo;
  }
  if (a1 > hi) {
    b1 -= (a1 - hi) * slope;
    a1 = hi;
  }
  return std::isfinite(b0) && std::isfinite(b1);
}

}  // namespace

Rgb Lighten(Rgb c, double amount) {
  return {Mix(c.r, 255, amount), Mix(c.g, 255, amount), Mix(c.b, 255, amount)};
}

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
  MBERT_CHECK(width > 0 && height > 0, "canvas ", width, "x", height);
  rgb_.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = background.r;
    rgb_[i + 1] = background.g;
    rgb_[i + 2] = background.b;
  }
  ResetClip();
}

Rgb Canvas::At(int x, int y) const {
  MBERT_CHECK(x >= 0 && x < width_ && y >= 0 && y < height_, "pixel ", x, ",", y);
  const size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Canvas::SetClip(Rect clip) {
  clip_ = {std::max(clip.x0, 0), std::max(clip.y0, 0), std::min(clip.x1, width_),
           std::min(clip.y1, height_)};
}

void Canvas::ResetClip() { clip_ = {0, 0, width_, height_}; }

void Canvas::Blend(int x, int y, Rgb color, double coverage) {
  if (x < clip_.x0 || x >= clip_.x1 || y < clip_.y0 || y >= clip_.y1 || !(coverage > 0)) return;
  coverage = std::min(coverage, 1.0);
  const size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
  rgb_[i] = Mix(rgb_[i], color.r, coverage);
  rgb_[i + 1] = Mix(rgb_[i + 1], color.g, coverage);
  rgb_[i + 2] = Mix(rgb_[i + 2], color.b, coverage);
}

void Canvas::FillRect(Rect r, Rgb color) {
  for (int y = std::max(r.y0, clip_.y0); y < std::min(r.y1, clip_.y1); ++y)
    for (int x = std::max(r.x0, clip_.x0); x < std::min(r.x1, clip_.x1); ++x) Blend(x, y, color, 1);
}

void Canvas::Line(double x0, double y0, double x1, double y1, Rgb color, double width) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1) ||
      !(width > 0))
    return;
  // A pixel is covered by how far its centre lies inside the capsule of half-width width/2,
  // with a one-pixel ramp at the edge. Walk the segment's major axis; across it, a band of
  // rows (or columns) wide enough for the capsule at 45 degrees, the steepest a major axis sees.
  const double reach = width / 2 + 0.5;
  // Far-away ends are cut at a margin around the clip (beyond where their round caps could
  // show), which keeps the distances below small and exact.
  const double margin = reach + 2;
  if (!ClipAxis(x0, y0, x1, y1, clip_.x0 - margin, clip_.x1 + margin) ||
      !ClipAxis(y0, x0, y1, x1, clip_.y0 - margin, clip_.y1 + margin))
    return;
  const bool x_major = std::abs(x1 - x0) >= std::abs(y1 - y0);
  const double a0 = x_major ? x0 : y0, a1 = x_major ? x1 : y1;  // along the major axis
  const double b0 = x_major ? y0 : x0, b1 = x_major ? y1 : x1;
  const int major_lo = x_major ? clip_.x0 : clip_.y0, major_hi = x_major ? clip_.x1 : clip_.y1;
  const int minor_lo = x_major ? clip_.y0 : clip_.x0, minor_hi = x_major ? clip_.y1 : clip_.x1;
  const int from = ClampToInt(std::floor(std::min(a0, a1) - reach), major_lo, major_hi);
  const int to = ClampToInt(std::ceil(std::max(a0, a1) + reach), major_lo, major_hi);
  const double band = reach * 1.5 + 1;
  for (int a = from; a < to; ++a) {
    const double centre = a + 0.5;
    const double t = a1 != a0 ? std::clamp((centre - a0) / (a1 - a0), 0.0, 1.0) : 0.0;
    const double b = b0 + t * (b1 - b0);
    const int lo = ClampToInt(std::floor(b - band), minor_lo, minor_hi);
    const int hi = ClampToInt(std::ceil(b + band), minor_lo, minor_hi);
    for (int m = lo; m < hi; ++m) {
      const int x = x_major ? a : m, y = x_major ? m : a;
      const double d = SegmentDistance(x + 0.5, y + 0.5, x0, y0, x1, y1);
      Blend(x, y, color, reach - d);
    }
  }
}

void Canvas::Disc(double cx, double cy, double radius, Rgb color) {
  if (!std::isfinite(cx) || !std::isfinite(cy) || !(radius > 0)) return;
  const double reach = radius + 0.5;
  const int x_lo = ClampToInt(std::floor(cx - reach), clip_.x0, clip_.x1);
  const int x_hi = ClampToInt(std::ceil(cx + reach), clip_.x0, clip_.x1);
  const int y_lo = ClampToInt(std::floor(cy - reach), clip_.y0, clip_.y1);
  const int y_hi = ClampToInt(std::ceil(cy + reach), clip_.y0, clip_.y1);
  for (int y = y_lo; y < y_hi; ++y)
    for (int x = x_lo; x < x_hi; ++x)
      Blend(x, y, color, reach - std::hypot(x + 0.5 - cx, y + 0.5 - cy));
}

}  // namespace mbert::plot
