// A figure of line charts stacked vertically over one shared x axis: each panel has its own y
// axis on the left, optionally a second one on the right, a frame, grid lines, tick labels and a
// legend; the figure has a title and an x-axis label under the bottom panel.
#pragma once

#include <string>
#include <vector>

#include "plot/canvas.h"

namespace mbert::plot {

struct Series {
  std::string label;         // legend text; empty: not in the legend
  std::vector<double> x, y;  // same length; non-finite points are skipped (a gap)
  Rgb color;
  double line_width = 2;     // 0: no line
  double marker_radius = 0;  // 0: no markers
  bool right_axis = false;   // on the panel's secondary (right) scale
};

struct Panel {
  std::string y_label, right_label;  // right_label: only drawn when a series uses that axis
  std::vector<Series> series;        // drawn in order: later ones on top
  bool y_from_zero = false;          // the left axis includes 0 (accuracy)
  double weight = 1;                 // share of the figure's height
};

struct ChartOptions {
  int width = 900, height = 600;
  std::string title, x_label;
};

// Draws the panels; each needs at least one finite point somewhere (a panel without any shows
// its frame and "no data"). Fonts scale with the figure: twice the bitmap size at 900x600.
Canvas RenderChart(const std::vector<Panel>& panels, const ChartOptions& options);

}  // namespace mbert::plot
