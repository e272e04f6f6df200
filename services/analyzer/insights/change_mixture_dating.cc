// Dating an open rating change under a contamination model (change_detection.h, MixtureSplit): after a
// quality problem a share of customers get a bad experience and give 1-2 stars while the others rate the
// product as before.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "services/analyzer/insights/change_detection.h"

namespace marketlens::analyzer {

int MixtureSplit(const std::vector<double>& stars, int split, const ChangeOptions& o,
                 const std::vector<double>& level_prior) {
  const int n = static_cast<int>(stars.size());
  if (level_prior.size() != 5 || n < 2) return split;
  const double a0 = std::accumulate(level_prior.begin(), level_prior.end(), 0.0);
  // The bad experiences' stars: 1 or 2, in the catalogue prior's proportion of the two.
  const double one = level_prior[0] / (level_prior[0] + level_prior[1]);
  const std::array<double, 5> bad = {one, 1 - one, 0, 0, 0};
  std::vector<int> level(n);
  for (int i = 0; i < n; ++i) level[i] = std::clamp(static_cast<int>(std::lround(stars[i])), 1, 5) - 1;
  // before[i]: the log marginal of the first i reviews (Dirichlet-multinomial under the prior), counts[i]
  // their star levels.
  std::vector<double> before(n + 1, 0);
  std::vector<std::array<int, 5>> counts(n + 1, std::array<int, 5>{});
  for (int i = 0; i < n; ++i) {
    before[i + 1] = before[i] + std::log((level_prior[level[i]] + counts[i][level[i]]) / (a0 + i));
    counts[i + 1] = counts[i];
    ++counts[i + 1][level[i]];
  }
  const auto [k_lo, k_hi] = RefineWindow(n - split, n, o);
  int best = split;
  double best_lp = -std::numeric_limits<double>::infinity();
  for (int k = k_lo; k <= k_hi; ++k) {
    const int i = n - k;
    std::array<int, 5> after{};
    double sum_before = 0, sum_after = 0;
    for (int c = 0; c < 5; ++c) {
      after[c] = counts[n][c] - counts[i][c];
      sum_before += (c + 1) * counts[i][c];
      sum_after += (c + 1) * after[c];
    }
    if (sum_after / k >= sum_before / i) continue;  // only a drop
    // The after reviews: each a bad experience with probability r, else rated as the reviews before say
    // (the prior's posterior mean); r uniform over a grid, integrated out.
    std::vector<double> by_share;
    for (double r = 0.1; r < 0.95; r += 0.1) {
      double lp = 0;
      for (int c = 0; c < 5; ++c) {
        if (after[c] == 0) continue;
        lp += after[c] * std::log(r * bad[c] + (1 - r) * (level_prior[c] + counts[i][c]) / (a0 + i));
      }
      by_share.push_back(lp);
    }
    const double m = *std::max_element(by_share.begin(), by_share.end());
    double mean = 0;
    for (double lp : by_share) mean += std::exp(lp - m) / by_share.size();
    const double lp = before[i] + m + std::log(mean);
    if (lp > best_lp) best_lp = lp, best = i;
  }
  return best;
}

}  // namespace marketlens::analyzer
