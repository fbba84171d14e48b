// Axis ticks: "nice" values (1, 2 or 5 times a power of ten) spanning a range, and their labels.
#pragma once

#include <string>
#include <vector>

namespace mbert::plot {

struct Ticks {
  double lo = 0, hi = 1;  // the axis range, widened to whole ticks
  double step = 1;
  std::vector<double> values;
};

// About `target` ticks covering [lo, hi] (lo <= hi, both finite); an empty range is widened.
Ticks NiceTicks(double lo, double hi, int target);

// A tick label: as few digits as the step needs ("0.25", "1500"); thousands and more as
// "1.5k", "20M", "3G"; tiny steps in exponent form ("2e-4").
std::string TickLabel(double value, double step);

}  // namespace mbert::plot
