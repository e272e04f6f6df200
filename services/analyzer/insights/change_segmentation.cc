// Re-dating an open rating change (change_detection.h, RedatedRatingSplit; each measured on the README's five
// cases and not kept, so all off): the split of a joint series of stars and sentiment; the star levels' own
// maximum-likelihood split, or its posterior mode under the catalogue's Dirichlet prior; the latest change
// that persists to the newest data (binary segmentation of the stars after the found split, or the latest
// split in the likelihood's support interval).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "services/analyzer/insights/change_detection.h"
#include "services/analyzer/insights/stats.h"

namespace marketlens::analyzer {

int StarLevelsSplit(const std::vector<double>& x, int split, const ChangeOptions& o,
                    const std::vector<double>& prior, bool whole) {
  const int n = static_cast<int>(x.size());
  std::vector<std::array<int, 5>> count(n + 1, std::array<int, 5>{});
  std::vector<double> sum{0};
  for (int i = 0; i < n; ++i) {
    count[i + 1] = count[i];
    ++count[i + 1][std::clamp(static_cast<int>(std::lround(x[i])), 1, 5) - 1];
    sum.push_back(sum.back() + x[i]);
  }
  auto loglik = [&](int from, int to) {  // the segment's multinomial log-likelihood at its own shares
    double v = 0;
    if (prior.size() == 5) {  // the Dirichlet-multinomial marginal under the catalogue's prior
      double a = 0;
      for (int c = 0; c < 5; ++c) {
        const int m = count[to][c] - count[from][c];
        v += std::lgamma(prior[c] + m) - std::lgamma(prior[c]);
        a += prior[c];
      }
      return v + std::lgamma(a) - std::lgamma(a + (to - from));
    }
    for (int c = 0; c < 5; ++c) {
      const int m = count[to][c] - count[from][c];
      if (m > 0) v += m * std::log(static_cast<double>(m) / (to - from));
    }
    return v;
  };
  const auto [k_lo, k_hi] =
      whole ? std::pair<int, int>(o.min_after, n - o.min_before) : RefineWindow(n - split, n, o);
  int best = split;
  double best_gain = -std::numeric_limits<double>::infinity();
  for (int k = k_lo; k <= k_hi; ++k) {
    const int i = n - k;
    if ((sum[n] - sum[i]) / k >= sum[i] / i) continue;  // only a drop
    const double gain = loglik(0, i) + loglik(i, n);
    if (gain > best_gain) best_gain = gain, best = i;
  }
  return best;
}

int LatestPersistingSplit(const std::vector<double>& x, int split, const ChangeOptions& o) {
  const int n = static_cast<int>(x.size());
  const PrefixSums p(x);
  const std::vector<double>&sum = p.s, &sq = p.ss;
  // The minimum effects of a rating alert for a change at i: the stars' drop, and more 1-2 star reviews.
  auto meets_effects = [&](int i) {
    const double before = sum[i] / i, after = (sum[n] - sum[i]) / (n - i);
    int low_before = 0, low_after = 0;
    for (int j = 0; j < n; ++j) (j < i ? low_before : low_after) += x[j] <= 2;
    return before - after >= o.min_rating_drop &&
           static_cast<double>(low_after) / (n - i) - static_cast<double>(low_before) / i >=
               o.min_low_share_rise;
  };
  if (o.late_support > 0) {
    // The likelihood's support interval for a single change's location: of the splits at or after the
    // found one whose log-likelihood gain is within late_support units of the best, the latest that still
    // meets the minimum effects.
    const double var = std::max(o.rating_variance_floor, (sq[n] - sum[n] * sum[n] / n) / std::max(1, n - 1));
    auto gain = [&](int i) {
      const double d = (sum[n] - sum[i]) / (n - i) - sum[i] / i;
      return d < 0 ? static_cast<double>(i) * (n - i) / n * d * d / (2 * var) : 0;
    };
    double best = 0;
    for (int i = o.min_before; i <= n - o.min_after; ++i) best = std::max(best, gain(i));
    for (int i = n - o.min_after; i > split; --i) {
      if (gain(i) >= best - o.late_support && meets_effects(i)) return i;
    }
    return split;
  }
  // Each step tests the segment after the current split for a further drop (the split search's grid on
  // it, Bonferroni over the grid, at late_change_alpha), refines it to the maximum-likelihood split near
  // the best grid point, and moves there if the drop from everything before still meets the minimum
  // effects: the open alert then says since when the product has been as it is now.
  for (;;) {
    const int m = n - split;
    const std::vector<int> grid = SplitGrid(m, o);
    if (grid.empty()) break;
    int best_k = grid.front();
    double best_p = 2;
    for (int k : grid) {
      // The newest k values lower than x[split, n - k), as the split search's own test of the stars.
      const double pk = MeanShiftP(p, split, n - k, n - k, n, -1, o.rating_variance_floor);
      if (pk < best_p) best_p = pk, best_k = k;
    }
    if (best_p * grid.size() > o.late_change_alpha) break;
    const auto [k_lo, k_hi] = RefineWindow(best_k, m, o);
    int next = n - best_k;
    double best_gain = -1;
    for (int k = k_lo; k <= k_hi; ++k) {
      const int i = n - k;
      const double n1 = i - split, n2 = k;
      const double d = (sum[n] - sum[i]) / n2 - (sum[i] - sum[split]) / n1;
      const double gain = d < 0 ? n1 * n2 / m * d * d : 0;
      if (gain > best_gain) best_gain = gain, next = i;
    }
    if (next <= split || !meets_effects(next)) break;
    split = next;
  }
  return split;
}

int JointSplit(const std::vector<double>& stars, const std::vector<double>& sentiment, int split,
               const ChangeOptions& o) {
  const int n = static_cast<int>(stars.size());
  std::vector<double> x;
  if (o.date_by_joint == 1) {
    x = StandardisedSum(stars, sentiment, o.rating_variance_floor, o.sentiment_variance_floor);
  } else {
    // Within +-0.49 of its stars: the sentiment orders reviews of one star level, never across levels.
    for (int i = 0; i < n; ++i) x.push_back(stars[i] + 0.49 * std::clamp(sentiment[i], -1.0, 1.0));
  }
  const PrefixSums p(x);
  const std::vector<double>& sum = p.s;
  const auto [k_lo, k_hi] = RefineWindow(n - split, n, o);
  int best = split;
  double best_gain = 0;
  for (int k = k_lo; k <= k_hi; ++k) {  // the latest split on a tie, as the split search
    const int i = n - k;
    const double d = (sum[n] - sum[i]) / k - sum[i] / i;
    const double gain = d < 0 ? static_cast<double>(i) * k / n * d * d : 0;
    if (gain > best_gain) best_gain = gain, best = i;
  }
  return best;
}

std::vector<std::pair<int, double>> ChangeLocationPosterior(const std::vector<double>& x, int first, int last,
                                                            const ChangeOptions& o) {
  const int n = static_cast<int>(x.size());
  const PrefixSums p(x);
  const double total_ss = p.Segment(0, n, 0).m2;
  const double rss_floor = std::max(1e-9, (n - 2) * o.rating_variance_floor);
  std::vector<std::pair<int, double>> weight;  // (split, log posterior), then the weight
  double best = -std::numeric_limits<double>::infinity();
  for (int i = std::max(1, first); i <= std::min(n - 1, last); ++i) {
    const int k = n - i;
    const double d = (p.s[n] - p.s[i]) / k - p.s[i] / i;
    if (d >= 0) continue;
    const double rss = std::max(rss_floor, total_ss - static_cast<double>(i) * k / n * d * d);
    const double lw = -0.5 * (n - 2) * std::log(rss) - 0.5 * std::log(static_cast<double>(i) * k);
    weight.push_back({i, lw});
    best = std::max(best, lw);
  }
  for (auto& [i, w] : weight) w = std::exp(w - best);
  return weight;
}

int PosteriorMedianSplit(const std::vector<double>& x, int split, const ChangeOptions& o) {
  const int n = static_cast<int>(x.size());
  const auto [k_lo, k_hi] = RefineWindow(n - split, n, o);
  const std::vector<std::pair<int, double>> weight = ChangeLocationPosterior(x, n - k_hi, n - k_lo, o);
  if (weight.empty()) return split;
  double total = 0;
  for (const auto& [i, w] : weight) total += w;
  double cumulative = 0;
  for (const auto& [i, w] : weight) {
    cumulative += w;
    if (cumulative >= total / 2) return i;
  }
  return split;
}

std::pair<int, int> ChangeLocationCredibleSplits(const std::vector<double>& x, int split,
                                                 const ChangeOptions& o, double level) {
  const int n = static_cast<int>(x.size());
  std::vector<std::pair<int, double>> weight = ChangeLocationPosterior(x, o.min_before, n - o.min_after, o);
  // The highest-posterior set: splits by weight, heaviest first (the later split on a tie), until they
  // hold `level` of the total.
  std::sort(weight.begin(), weight.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first > b.first;
  });
  double total = 0;
  for (const auto& [i, w] : weight) total += w;
  int earliest = split, latest = split;
  double held = 0;
  for (const auto& [i, w] : weight) {
    if (held >= level * total) break;
    held += w;
    earliest = std::min(earliest, i);
    latest = std::max(latest, i);
  }
  return {earliest, latest};
}

int RedatedRatingSplit(const std::vector<double>& stars, int split, const ChangeOptions& o,
                       const std::vector<double>& sentiment) {
  if (o.date_by_posterior_median) split = PosteriorMedianSplit(stars, split, o);
  if (o.date_by_joint > 0 && sentiment.size() == stars.size()) split = JointSplit(stars, sentiment, split, o);
  if (o.date_by_star_levels || o.date_by_star_posterior > 0) {
    const bool posterior = o.date_by_star_posterior > 0 && o.eb_stars_model != nullptr;
    split =
        StarLevelsSplit(stars, split, o, posterior ? o.eb_stars_model->level_prior() : std::vector<double>{},
                        o.date_by_star_posterior == 2);
  }
  if (o.date_latest_change) split = LatestPersistingSplit(stars, split, o);
  return split;
}

}  // namespace marketlens::analyzer
