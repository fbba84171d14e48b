#include "plot/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mbert::plot {

namespace {

// The nice step nearest above `raw`: 1, 2 or 5 times a power of ten.
double NiceStep(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

// Digits after the decimal point that multiples of `step` need.
int Decimals(double step) {
  if (!(step > 0) || !std::isfinite(step)) return 0;
  return static_cast<int>(std::clamp(std::ceil(-std::log10(step) - 1e-9), 0.0, 12.0));
}

std::string Format(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  return s == "-0" ? "0" : s;
}

}  // namespace

Ticks NiceTicks(double lo, double hi, int target) {
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo <= std::max(std::abs(lo), std::abs(hi)) * 1e-12) {
    // A tenth of the value, or 1 near zero (a subnormal's tenth would vanish).
    const double pad = std::abs(lo) > 1e-300 ? std::abs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  Ticks t;
  t.step = NiceStep((hi - lo) / std::max(target, 1));
  t.lo = std::floor(lo / t.step + 1e-9) * t.step;
  t.hi = std::ceil(hi / t.step - 1e-9) * t.step;
  const double count = (t.hi - t.lo) / t.step;
  if (!(t.step > 0) || !std::isfinite(t.lo) || !std::isfinite(t.hi) || !(count <= 1000)) {
    // A range at the edge of double (a span that overflows, subnormal widths): the two ends.
    t.lo = lo;
    t.hi = hi;
    t.step = hi - lo;
    t.values = {lo, hi};
    return t;
  }
  const int n = static_cast<int>(std::lround(count));
  for (int i = 0; i <= n; ++i) {
    const double v = t.lo + i * t.step;
    t.values.push_back(std::abs(v) < t.step * 1e-9 ? 0.0 : v);
  }
  return t;
}

std::string TickLabel(double value, double step) {
  if (value == 0) return "0";
  const double mag = std::max(std::abs(value), step);
  if (mag >= 1e4) {
    for (auto [div, suffix] : {std::pair{1e9, "G"}, std::pair{1e6, "M"}, std::pair{1e3, "k"}})
      if (mag >= div) return Format(value / div, Decimals(step / div)) + suffix;
  }
  if (step < 1e-3) {
    // mantissa e exponent, the mantissa with the digits the step needs at that exponent
    const int exp = static_cast<int>(std::floor(std::log10(std::abs(value)) + 1e-9));
    const double scale = std::pow(10.0, exp);
    std::string m = Format(value / scale, Decimals(step / scale));
    return m + "e" + std::to_string(exp);
  }
  return Format(value, Decimals(step));
}

}  // namespace mbert::plot
