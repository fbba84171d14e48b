// Helpers shared by the element-wise op tests (layer_norm, rope, gelu, embedding, cross_entropy,
// gemm): seeded random inputs, fp32 -> double copies and error metrics.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace mbert::ops::test_util {

inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline std::vector<double> ToDouble(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Normalised mean squared error sum (a-b)^2 / sum b^2 (b the reference).
inline double Nmse(const float* a, const double* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den > 0 ? num / den : num;
}

inline double MaxAbsErr(const float* a, const double* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Largest |a-b| / max(|b|, floor): relative error, with `floor` keeping values that are zero by
// cancellation from dominating.
inline double MaxRelErr(const float* a, const double* b, size_t n, double floor) {
  double m = 0;
  for (size_t i = 0; i < n; ++i)
    m = std::max(m, std::fabs(a[i] - b[i]) / std::max(std::fabs(b[i]), floor));
  return m;
}

// Runs f with the OpenMP thread count set to n, restoring the previous value.
template <typename F>
void WithThreads(int n, F f) {
  const int old = omp_get_max_threads();
  omp_set_num_threads(n);
  f();
  omp_set_num_threads(old);
}

}  // namespace mbert::ops::test_util
