// The empirical-Bayes members' catalogue models and per-product p (change_detection.h; the tests themselves
// are insights/low_share_prior.h).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "services/analyzer/insights/change_detection.h"

namespace marketlens::analyzer {
namespace {

double SplitP(SplitEmpiricalBayes* model, const std::vector<ReviewFact>& facts, absl::Time now,
              const ChangeOptions& o) {
  if (model == nullptr) return 1;
  std::vector<int> levels;
  for (const ReviewFact* f : ReviewsInOrder(facts, now)) levels.push_back(model->Level(f->rating));
  return model->PValue(levels, SplitGrid(static_cast<int>(levels.size()), o));
}

}  // namespace

double EmpiricalBayesLowShareP(const std::vector<ReviewFact>& facts, absl::Time now, const ChangeOptions& o) {
  return SplitP(o.eb_model.get(), facts, now, o);
}

double EmpiricalBayesStarsP(const std::vector<ReviewFact>& facts, absl::Time now, const ChangeOptions& o) {
  return SplitP(o.eb_stars_model.get(), facts, now, o);
}

std::shared_ptr<LowShareEmpiricalBayes> FitLowShareModel(
    const std::map<std::string, std::vector<ReviewFact>>& products, absl::Time now) {
  std::vector<std::pair<int, int>> counts;
  for (const auto& [id, facts] : products) {
    int low = 0, n = 0;
    for (const ReviewFact& f : facts) {
      if (f.created_at > now) continue;
      ++n;
      low += f.rating <= 2;
    }
    if (n > 0) counts.emplace_back(low, n);
  }
  return std::make_shared<LowShareEmpiricalBayes>(FitBetaBinomial(counts));
}

std::shared_ptr<StarLevelsEmpiricalBayes> StarLevelsModelFromCounts(
    const std::vector<std::vector<int>>& counts, StarsStatistic statistic) {
  std::vector<double> prior = FitDirichletMultinomial(counts, 5);
  for (double& a : prior) {
    if (a > 0) {
      const double scale = std::pow(10.0, 3 - std::floor(std::log10(a)));
      a = std::round(a * scale) / scale;
    }
  }
  return std::make_shared<StarLevelsEmpiricalBayes>(std::move(prior), statistic);
}

std::shared_ptr<StarLevelsEmpiricalBayes> FitStarLevelsModel(
    const std::map<std::string, std::vector<ReviewFact>>& products, absl::Time now,
    StarsStatistic statistic) {
  std::vector<std::vector<int>> counts;
  for (const auto& [id, facts] : products) {
    std::vector<int> c(5, 0);
    for (const ReviewFact& f : facts)
      if (f.created_at <= now) ++c[std::clamp(f.rating, 1, 5) - 1];
    counts.push_back(std::move(c));
  }
  return StarLevelsModelFromCounts(counts, statistic);
}

}  // namespace marketlens::analyzer
