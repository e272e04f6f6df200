#include "services/analyzer/dating_ceiling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace marketlens::analyzer {
namespace {

// PlantRealChanges' split for n reviews: clamp(floor(n (change_at + 0.2 (u - 0.5))), 1, n - 1), u uniform in
// [0, 1) -> each split's probability.
std::map<int, double> SplitPrior(int n, const PlantOptions& o) {
  const double lo = n * (o.change_at - 0.1), hi = n * (o.change_at + 0.1);
  std::map<int, double> prior;
  for (int s = static_cast<int>(std::floor(lo)); s < hi; ++s) {
    const double w = std::min<double>(s + 1, hi) - std::max<double>(s, lo);
    if (w > 0) prior[std::clamp(s, 1, n - 1)] += w / (hi - lo);
  }
  return prior;
}

}  // namespace

std::optional<CeilingDate> PlantingAwareDate(const std::vector<int>& stars,
                                             const std::vector<absl::Time>& times, absl::Time planted,
                                             const PlantingModel& m, absl::Duration tolerance) {
  const int n = static_cast<int>(stars.size());
  if (n < 2 || m.level_prior.size() != 5) return std::nullopt;
  const double a0 = std::accumulate(m.level_prior.begin(), m.level_prior.end(), 0.0);
  const double r = m.planting.replaced_share;
  auto pool = [&](int x) { return x == 1 ? m.pool_one_share : x == 2 ? 1 - m.pool_one_share : 0.0; };
  auto level = [](int x) { return std::clamp(x, 1, 5) - 1; };
  std::vector<std::pair<int, double>> log_post;  // (split, log posterior)
  for (const auto& [s, prior] : SplitPrior(n, m.planting)) {
    if (pool(stars[s]) <= 0) continue;  // the review at the split is always a planted 1-2 star one
    std::vector<double> count(5, 0);
    double lp = std::log(prior);
    for (int i = 0; i < s; ++i) {  // the product's own reviews: the Dirichlet-multinomial, sequentially
      const int c = level(stars[i]);
      lp += std::log((m.level_prior[c] + count[c]) / (a0 + i));
      ++count[c];
    }
    lp += std::log(pool(stars[s]));
    for (int i = s + 1; i < n; ++i) {  // replaced or the product's own (its shares as the before reviews say)
      const int c = level(stars[i]);
      lp += std::log(r * pool(stars[i]) + (1 - r) * (m.level_prior[c] + count[c]) / (a0 + s));
    }
    log_post.push_back({s, lp});
  }
  if (log_post.empty()) return std::nullopt;
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& [s, lp] : log_post) best = std::max(best, lp);
  double total = 0;
  for (auto& [s, lp] : log_post) total += (lp = std::exp(lp - best));
  auto mass_near = [&](absl::Time t) {
    double mass = 0;
    for (const auto& [s, w] : log_post)
      if (absl::AbsDuration(times[s] - t) <= tolerance) mass += w / total;
    return mass;
  };
  int chosen = log_post.front().first;
  double chosen_mass = -1;
  for (const auto& [s, w] : log_post) {  // the date whose tolerance window holds the most posterior
    const double mass = mass_near(times[s]);
    if (mass > chosen_mass) chosen_mass = mass, chosen = s;
  }
  return CeilingDate{times[chosen], times[chosen - 1], mass_near(planted)};
}

DatingCeiling PlantingAwareDatingCeiling(const std::map<std::string, std::vector<ReviewFact>>& products,
                                         const PlantedTruth& truth, PlantingModel model,
                                         const ScoreOptions& options, const std::set<std::string>* only) {
  if (model.pool_one_share < 0) {
    int ones = 0, low = 0;
    for (const auto& [p, facts] : products)
      for (const ReviewFact& f : facts) ones += f.rating == 1, low += f.rating <= 2;
    model.pool_one_share = low ? static_cast<double>(ones) / low : 0.5;
  }
  const absl::Duration tolerance = absl::Hours(24 * options.max_date_error_days);
  DatingCeiling c;
  for (const auto& [product, planted] : truth) {
    if (!planted || (only != nullptr && !only->count(product))) continue;
    const auto it = products.find(product);
    if (it == products.end()) continue;
    // In the planting's own order (by time, ties as given, as PlantRealChanges sorts), not ReviewsInOrder's
    // (time, then id): the planted split is an index in this order.
    std::vector<const ReviewFact*> sorted;
    for (const ReviewFact& f : it->second) sorted.push_back(&f);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const ReviewFact* a, const ReviewFact* b) { return a->created_at < b->created_at; });
    std::vector<int> stars;
    std::vector<absl::Time> times;
    int after = 0;
    for (const ReviewFact* f : sorted) {
      stars.push_back(f->rating);
      times.push_back(f->created_at);
      after += f->created_at >= *planted;
    }
    if (after < options.min_after) continue;
    const std::optional<CeilingDate> d = PlantingAwareDate(stars, times, *planted, model, tolerance);
    ++c.products;
    if (!d) continue;
    c.dated += absl::AbsDuration(d->since - *planted) <= tolerance;
    c.in_interval += d->changed_after - tolerance <= *planted && *planted <= d->since + tolerance;
    c.expected += d->mass_near_planted;
  }
  return c;
}

}  // namespace marketlens::analyzer
