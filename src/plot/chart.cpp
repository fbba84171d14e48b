#include "plot/chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "plot/font.h"
#include "plot/ticks.h"

namespace mbert::plot {

namespace {

constexpr Rgb kBackground{255, 255, 255};
constexpr Rgb kInk{40, 40, 40};
constexpr Rgb kGrid{228, 228, 228};
constexpr Rgb kLegendBorder{190, 190, 190};
// Values beyond this are drawn at it: the axes stay finite whatever a metrics file holds.
constexpr double kMaxMagnitude = 1e15;

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double v) {
    if (!std::isfinite(v)) return;
    v = std::clamp(v, -kMaxMagnitude, kMaxMagnitude);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// A linear map from data to pixels; `flip` for y (larger values higher up).
struct Scale {
  double lo, hi;
  int p0, p1;
  bool flip;
  double operator()(double v) const {
    if (!std::isfinite(v)) return v;
    v = std::clamp(v, -kMaxMagnitude, kMaxMagnitude);
    const double f = (v - lo) / (hi - lo);
    return flip ? p1 - f * (p1 - p0) : p0 + f * (p1 - p0);
  }
};

// The data range padded by `margin` of its span, and the ticks that fall inside it.
struct Axis {
  double lo = 0, hi = 1;
  Ticks ticks;
  std::vector<std::string> labels;
};

Axis MakeAxis(Range r, bool from_zero, double margin, int target_ticks) {
  if (r.empty()) r = {0, 1};
  if (from_zero) r.Add(0);
  Axis a;
  a.ticks = NiceTicks(r.lo, r.hi, target_ticks);
  const double span = r.hi > r.lo ? r.hi - r.lo : a.ticks.hi - a.ticks.lo;
  a.lo = r.lo - span * margin;
  a.hi = r.hi + span * margin;
  if (from_zero && r.lo >= 0) a.lo = std::max(a.lo, 0.0) - span * margin * 0.25;
  if (!(a.hi > a.lo)) {
    a.lo = a.ticks.lo;
    a.hi = a.ticks.hi;
  }
  std::vector<double> inside;
  for (double v : a.ticks.values)
    if (v >= a.lo && v <= a.hi) inside.push_back(v);
  a.ticks.values = inside;
  for (double v : a.ticks.values) a.labels.push_back(TickLabel(v, a.ticks.step));
  return a;
}

int MaxLabelWidth(const Axis& a, int scale) {
  int w = 0;
  for (const std::string& l : a.labels) w = std::max(w, TextWidth(l, scale));
  return w;
}

// `text` cut (with "..") to at most `max_width` pixels.
std::string Fit(const std::string& text, int max_width, int scale) {
  if (TextWidth(text, scale) <= max_width) return text;
  std::string s = text;
  while (!s.empty() && TextWidth(s + "..", scale) > max_width) s.pop_back();
  return s.empty() ? "" : s + "..";
}

void DrawSeries(Canvas& c, const Series& s, const Scale& sx, const Scale& sy) {
  const size_t n = std::min(s.x.size(), s.y.size());
  if (s.line_width > 0) {
    bool have_prev = false;
    double px = 0, py = 0;
    for (size_t i = 0; i < n; ++i) {
      const double x = sx(s.x[i]), y = sy(s.y[i]);
      if (!std::isfinite(x) || !std::isfinite(y)) {
        have_prev = false;
        continue;
      }
      if (have_prev)
        c.Line(px, py, x, y, s.color, s.line_width);
      else if (s.marker_radius == 0)
        c.Disc(x, y, s.line_width / 2, s.color);  // a lone point
      px = x;
      py = y;
      have_prev = true;
    }
  }
  if (s.marker_radius > 0)
    for (size_t i = 0; i < n; ++i) c.Disc(sx(s.x[i]), sy(s.y[i]), s.marker_radius, s.color);
}

// The legend's box: the corner of `plot` where it hides the least of what is drawn (pixels that
// are neither background nor grid).
Rect LegendBox(const Canvas& c, Rect plot, int w, int h, int inset) {
  const std::array<Rect, 4> corners = {
      Rect{plot.x1 - inset - w, plot.y0 + inset, plot.x1 - inset, plot.y0 + inset + h},
      Rect{plot.x0 + inset, plot.y0 + inset, plot.x0 + inset + w, plot.y0 + inset + h},
      Rect{plot.x1 - inset - w, plot.y1 - inset - h, plot.x1 - inset, plot.y1 - inset},
      Rect{plot.x0 + inset, plot.y1 - inset - h, plot.x0 + inset + w, plot.y1 - inset}};
  Rect best = corners[0];
  int64_t fewest = std::numeric_limits<int64_t>::max();
  for (const Rect& r : corners) {
    int64_t hidden = 0;
    for (int y = std::max(r.y0, 0); y < std::min(r.y1, c.height()); ++y)
      for (int x = std::max(r.x0, 0); x < std::min(r.x1, c.width()); ++x) {
        const Rgb p = c.At(x, y);
        hidden += !(p == kBackground) && !(p == kGrid);
      }
    if (hidden < fewest) {
      fewest = hidden;
      best = r;
    }
  }
  return best;
}

void DrawLegend(Canvas& c, const Panel& p, Rect plot, int s) {
  std::vector<const Series*> entries;
  int text_w = 0;
  for (const Series& se : p.series) {
    if (se.label.empty()) continue;
    entries.push_back(&se);
    text_w = std::max(text_w, TextWidth(se.label, s));
  }
  if (entries.empty()) return;
  const int pad = 4 * s, sample = 14 * s, row = TextHeight(s) + 4 * s;
  const int w = pad + sample + pad + text_w + pad;
  const int h = pad + static_cast<int>(entries.size()) * row - 4 * s + pad;
  if (w > plot.width() - 2 * pad || h > plot.height() - 2 * pad) return;  // no room
  const Rect box = LegendBox(c, plot, w, h, 3 * s);
  c.FillRect(box, kBackground);
  c.FillRect({box.x0, box.y0, box.x1, box.y0 + 1}, kLegendBorder);
  c.FillRect({box.x0, box.y1 - 1, box.x1, box.y1}, kLegendBorder);
  c.FillRect({box.x0, box.y0, box.x0 + 1, box.y1}, kLegendBorder);
  c.FillRect({box.x1 - 1, box.y0, box.x1, box.y1}, kLegendBorder);
  for (size_t i = 0; i < entries.size(); ++i) {
    const Series& se = *entries[i];
    const int top = box.y0 + pad + static_cast<int>(i) * row;
    const double mid = top + TextHeight(s) / 2.0;
    const double x0 = box.x0 + pad, x1 = x0 + sample;
    if (se.line_width > 0) c.Line(x0, mid, x1, mid, se.color, std::max(se.line_width, 1.5));
    if (se.marker_radius > 0) c.Disc((x0 + x1) / 2, mid, se.marker_radius, se.color);
    DrawText(c, static_cast<int>(x1) + pad, top, se.label, kInk, s);
  }
}

}  // namespace

Canvas RenderChart(const std::vector<Panel>& panels, const ChartOptions& o) {
  Canvas c(o.width, o.height, kBackground);
  const int s = std::clamp(std::min(o.width / 450, o.height / 300), 1, 4);
  const int pad = 6 * s, tick = 3 * s, text_h = TextHeight(s);

  Range xr;
  for (const Panel& p : panels)
    for (const Series& se : p.series)
      for (double x : se.x) xr.Add(x);

  // Each panel's y axes first: their labels' widths set the margins.
  std::vector<Axis> left, right;
  std::vector<bool> has_right;
  double weights = 0;
  for (const Panel& p : panels) weights += std::max(p.weight, 0.01);
  const int title_h = o.title.empty() ? 0 : TextHeight(s + 1) + 2 * pad;
  const int top = title_h + pad, bottom_margin = text_h + tick + pad + text_h + pad;
  const int gap = 3 * pad;
  const int avail = o.height - top - bottom_margin - gap * (static_cast<int>(panels.size()) - 1);
  int left_w = 0, right_w = 0;
  for (const Panel& p : panels) {
    Range l, r;
    bool any_right = false;
    for (const Series& se : p.series) {
      any_right |= se.right_axis;
      for (double y : se.y) (se.right_axis ? r : l).Add(y);
    }
    const int h = static_cast<int>(avail * std::max(p.weight, 0.01) / weights);
    const int target = std::max(2, h / (20 * s));
    left.push_back(MakeAxis(l, p.y_from_zero, 0.05, target));
    right.push_back(MakeAxis(r, true, 0.05, target));
    has_right.push_back(any_right);
    left_w = std::max(left_w, MaxLabelWidth(left.back(), s));
    if (any_right) right_w = std::max(right_w, MaxLabelWidth(right.back(), s));
  }
  const int x0 = pad + text_h + pad + left_w + tick + s;
  const int x1 = o.width - (right_w > 0 ? right_w + tick + s + pad + text_h + pad : 3 * pad);
  if (x1 - x0 < 20 || avail < 20 * static_cast<int>(panels.size())) return c;  // too small to draw

  const Axis xa = MakeAxis(xr, false, 0.02, std::max(2, (x1 - x0) / (50 * s)));
  const Scale sx{xa.lo, xa.hi, x0, x1, false};

  if (!o.title.empty()) {
    int ts = s + 1;
    if (TextWidth(o.title, ts) > o.width - 2 * pad) ts = s;
    const std::string title = Fit(o.title, o.width - 2 * pad, ts);
    DrawText(c, (o.width - TextWidth(title, ts)) / 2, pad, title, kInk, ts);
  }

  int y = top;
  for (size_t i = 0; i < panels.size(); ++i) {
    const Panel& p = panels[i];
    const bool last = i + 1 == panels.size();
    const int h = last ? o.height - bottom_margin - y
                       : static_cast<int>(avail * std::max(p.weight, 0.01) / weights);
    const Rect plot{x0, y, x1, y + h};
    const Scale sy{left[i].lo, left[i].hi, plot.y0, plot.y1, true};
    const Scale sy2{right[i].lo, right[i].hi, plot.y0, plot.y1, true};

    for (double v : left[i].ticks.values) {
      const int py = static_cast<int>(std::lround(sy(v)));
      c.FillRect({plot.x0, py, plot.x1, py + 1}, kGrid);
    }
    for (size_t t = 0; t < xa.ticks.values.size(); ++t) {
      const int px = static_cast<int>(std::lround(sx(xa.ticks.values[t])));
      c.FillRect({px, plot.y0, px + 1, plot.y1}, kGrid);
      c.FillRect({px, plot.y1, px + 1, plot.y1 + tick}, kInk);
      if (last) {
        const std::string& l = xa.labels[t];
        DrawText(c, px - TextWidth(l, s) / 2, plot.y1 + tick + pad / 2, l, kInk, s);
      }
    }
    for (size_t t = 0; t < left[i].ticks.values.size(); ++t) {
      const int py = static_cast<int>(std::lround(sy(left[i].ticks.values[t])));
      c.FillRect({plot.x0 - tick, py, plot.x0, py + 1}, kInk);
      const std::string& l = left[i].labels[t];
      DrawText(c, plot.x0 - tick - s - TextWidth(l, s), py - text_h / 2, l, kInk, s);
    }
    const std::string yl = Fit(p.y_label, h, s);
    DrawTextUp(c, pad, plot.y0 + (h - TextWidth(yl, s)) / 2, yl, kInk, s);
    if (has_right[i]) {
      for (size_t t = 0; t < right[i].ticks.values.size(); ++t) {
        const int py = static_cast<int>(std::lround(sy2(right[i].ticks.values[t])));
        c.FillRect({plot.x1, py, plot.x1 + tick, py + 1}, kInk);
        DrawText(c, plot.x1 + tick + s, py - text_h / 2, right[i].labels[t], kInk, s);
      }
      const std::string rl = Fit(p.right_label, h, s);
      DrawTextUp(c, o.width - pad - text_h, plot.y0 + (h - TextWidth(rl, s)) / 2, rl, kInk, s);
    }

    bool any = false;
    c.SetClip({plot.x0 + 1, plot.y0 + 1, plot.x1 - 1, plot.y1 - 1});
    for (const Series& se : p.series) {
      DrawSeries(c, se, sx, se.right_axis ? sy2 : sy);
      for (size_t k = 0; k < std::min(se.x.size(), se.y.size()); ++k)
        any |= std::isfinite(se.x[k]) && std::isfinite(se.y[k]);
    }
    if (!any) {
      const std::string none = "no data";
      DrawText(c, (plot.x0 + plot.x1 - TextWidth(none, s)) / 2, (plot.y0 + plot.y1 - text_h) / 2,
               none, kInk, s);
    }
    DrawLegend(c, p, plot, s);
    c.ResetClip();

    c.FillRect({plot.x0, plot.y0, plot.x1, plot.y0 + 1}, kInk);
    c.FillRect({plot.x0, plot.y1 - 1, plot.x1, plot.y1}, kInk);
    c.FillRect({plot.x0, plot.y0, plot.x0 + 1, plot.y1}, kInk);
    c.FillRect({plot.x1 - 1, plot.y0, plot.x1, plot.y1}, kInk);
    y += h + gap;
  }
  const std::string xl = Fit(o.x_label, x1 - x0, s);
  DrawText(c, (x0 + x1 - TextWidth(xl, s)) / 2, o.height - pad - text_h, xl, kInk, s);
  return c;
}

}  // namespace mbert::plot
