// Correlations for regression (STS-B), equal to scipy.stats in double precision:
//   Pearson    pearsonr: centred vectors, each divided by its norm, then their dot product,
//              clipped to [-1, 1]; NaN when either input is constant (scipy warns and returns nan)
//   Spearman   spearmanr: Pearson of the ranks, ties given their average rank (rankdata's
//              "average")
// Inputs must have the same length >= 2 (MBERT_CHECK).
#pragma once

#include <vector>

namespace mbert::eval {

double Pearson(const std::vector<double>& x, const std::vector<double>& y);
double Spearman(const std::vector<double>& x, const std::vector<double>& y);
// 1-based ranks, ties averaged (scipy.stats.rankdata(method="average")).
std::vector<double> AverageRanks(const std::vector<double>& x);

}  // namespace mbert::eval
