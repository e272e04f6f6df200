// How well could anything date the changes PlantRealChanges plants in real review text? An estimator that
// KNOWS the planting process (the change's position drawn as PlantOptions says, the review at it replaced by
// a 1-2 star review from the pool, each later one replaced with probability replaced_share, every other
// review the product's own, its star levels under the catalogue's Dirichlet prior) and takes its
// Bayes-optimal date for the scorer's loss (within max_date_error_days of the planted date). No detector can
// know this much (where in a product's history the change falls, and how it was made), so its dated share is
// a ceiling for the dating figures of the real-text cases: what the reviews allow, not what a method
// achieves. Development only (alerts_score --dating_ceiling), never used by the service.
#ifndef MARKETLENS_SERVICES_ANALYZER_DATING_CEILING_H_
#define MARKETLENS_SERVICES_ANALYZER_DATING_CEILING_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/analyzer/alerts_scoring.h"
#include "services/analyzer/insights/aggregate.h"

namespace marketlens::analyzer {

struct PlantingModel {
  PlantOptions planting;            // change_at and replaced_share as planted
  std::vector<double> level_prior;  // Dirichlet parameters of a product's own 1..5 star shares
  double pool_one_share = 0.5;      // of the 1-2 star pool, the share of 1 star
};

struct CeilingDate {
  absl::Time since;              // the review at the Bayes date's split
  absl::Time changed_after;      // the review before it
  double mass_near_planted = 0;  // posterior mass within the tolerance of the planted date
};

// One planted product's reviews (oldest first) and its planted date -> the Bayes date; nullopt when no split
// the planting could have made fits the reviews (it never happens for PlantRealChanges' own worlds).
std::optional<CeilingDate> PlantingAwareDate(const std::vector<int>& stars,
                                             const std::vector<absl::Time>& times, absl::Time planted,
                                             const PlantingModel& model, absl::Duration tolerance);

struct DatingCeiling {
  int products = 0;     // planted changes scored (>= min_after reviews after; within `only` if given)
  int dated = 0;        // Bayes date within the tolerance of the planted date
  int in_interval = 0;  // the planted date in [changed_after - tolerance, since + tolerance]
  double expected = 0;  // sum of the posterior mass within the tolerance of the planted date
  double dated_share() const { return products ? static_cast<double>(dated) / products : 0; }
  double interval_share() const { return products ? static_cast<double>(in_interval) / products : 0; }
  double expected_share() const { return products ? expected / products : 0; }
};

// Over every planted product of the world with >= options.min_after reviews after the planted date (only
// those in `only` when it is non-null, e.g. the detected ones). pool_one_share is taken from the world's own
// 1-2 star reviews when model.pool_one_share < 0.
DatingCeiling PlantingAwareDatingCeiling(const std::map<std::string, std::vector<ReviewFact>>& products,
                                         const PlantedTruth& truth, PlantingModel model,
                                         const ScoreOptions& options,
                                         const std::set<std::string>* only = nullptr);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_DATING_CEILING_H_
