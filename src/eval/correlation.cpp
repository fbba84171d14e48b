#include "eval/correlation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/check.h"

namespace mbert::eval {

double Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  MBERT_CHECK(x.size() == y.size() && x.size() >= 2, "sizes ", x.size(), " and ", y.size());
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double nx = 0, ny = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    nx += (x[i] - mx) * (x[i] - mx);
    ny += (y[i] - my) * (y[i] - my);
  }
  nx = std::sqrt(nx);
  ny = std::sqrt(ny);
  if (nx == 0 || ny == 0) return std::numeric_limits<double>::quiet_NaN();
  double r = 0;
  for (size_t i = 0; i < x.size(); ++i) r += ((x[i] - mx) / nx) * ((y[i] - my) / ny);
  return std::clamp(r, -1.0, 1.0);
}

std::vector<double> AverageRanks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    // Positions i..j (0-based) share the mean of the ranks i+1..j+1.
    const double r = 0.5 * static_cast<double>(i + 1 + j + 1);
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

double Spearman(const std::vector<double>& x, const std::vector<double>& y) {
  return Pearson(AverageRanks(x), AverageRanks(y));
}

}  // namespace mbert::eval
