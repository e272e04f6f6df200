// Scoring quality alerts against planted truth, shared by alerts_scoring_test and the
// `alerts_score` tool behind bench/alerts_bench.sh:
//   - the marketplace generator's truth (truth_products.jsonl from `marketplace cli export`): a product's
//     change is its deteriorating_since, else the earliest `since` of its issues;
//   - real review text with changes planted here: in a chosen share of the products with enough reviews, the
//     reviews after a date are partly replaced by real 1-2 star reviews of other products (text and stars;
//     the product and time stay), the rest are left untouched as controls.
// Figures: recall over planted changes with >= min_after reviews after the change, the share of products
// without a planted change that have an open alert, and two datings of the detected changes: `since` (the
// first review that shows the change) within max_date_error_days of the planted date (strict), and the
// planted date inside the interval the reviews allow, (changed_after, since], widened by
// max_date_error_days either side. The interval is fixed by the data (the last review before the change and
// the first after it), not chosen by the detector, so gap_days says how wide it was. Besides, how often
// the date's 90% credible range (open rating changes) holds the planted date, and how wide it is.
#ifndef MARKETLENS_SERVICES_ANALYZER_ALERTS_SCORING_H_
#define MARKETLENS_SERVICES_ANALYZER_ALERTS_SCORING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/analyzer/cli_alerts.h"
#include "services/analyzer/insights/change_detection.h"

namespace marketlens::analyzer {

// product id -> planted change date (nullopt: unchanged). Every product of the world is a key.
using PlantedTruth = std::map<std::string, std::optional<absl::Time>>;

absl::StatusOr<PlantedTruth> ReadMarketplaceTruth(const std::string& truth_products_jsonl);

struct PlantOptions {
  uint64_t seed = 1;
  int min_reviews = 20;         // products with fewer reviews are left out of the world
  double changed_share = 0.5;   // of the products kept
  double change_at = 0.6;       // the change falls after this share of the product's reviews (+-0.1)
  double replaced_share = 0.6;  // of the reviews after the change
};

struct PlantedWorld {
  std::vector<FileReview> reviews;
  PlantedTruth truth;
};

// Real reviews -> a world with planted changes (see the file comment). Low-star reviews are drawn from all
// products but the one they are planted in.
PlantedWorld PlantRealChanges(const std::vector<FileReview>& reviews, const PlantOptions& options);

struct AlertScore {
  int eligible = 0;  // planted changes with >= min_after reviews after
  int detected = 0;
  int dated = 0;        // detected and dated within max_date_error_days
  int in_interval = 0;  // detected, the planted date in [changed_after - max error, since + max error]
  std::vector<double> gap_days;  // detected: since - changed_after, days (the alert dated nearest)
  // The date's credible range (ChangeFinding::since_earliest / since_latest, open rating changes): detected
  // changes whose planted date is inside [since_earliest - max error, since_latest + max error] of one of
  // the product's open alerts ([changed_after - max error, since + max error] for an alert without a range),
  // a calibration check of the 90% range; and the widths of the detected changes that carry a range
  // (the alert with one; days, and reviews of the product inside [since_earliest, since_latest)).
  int range_covered = 0;
  // Unwidened, of the detected changes with a range: the planted date after the last review before
  // since_earliest and by since_latest (the interval the range's splits allow; the calibration proper).
  int range_covered_exact = 0;
  std::vector<double> range_days, range_reviews;
  double range_coverage() const { return detected ? static_cast<double>(range_covered) / detected : 0; }
  int unchanged = 0;
  int false_alarms = 0;  // unchanged products with an open alert
  double recall() const { return eligible ? static_cast<double>(detected) / eligible : 0; }
  double false_alarm_rate() const { return unchanged ? static_cast<double>(false_alarms) / unchanged : 0; }
  double dated_share() const { return detected ? static_cast<double>(dated) / detected : 0; }
  double interval_share() const { return detected ? static_cast<double>(in_interval) / detected : 0; }
  double median_gap_days() const;                                   // 0 when nothing was detected
  std::vector<std::string> missed, false_alarm_products, misdated;  // misdated: detected, dated > 30 days off
  // Pools another case's counts and lists into this one (figures over several plantings).
  void Add(const AlertScore& other);
};

struct ScoreOptions {
  int min_after = 8;
  double max_date_error_days = 30;
  std::set<std::string> kinds;  // empty: every kind counts
};

// The median of `values` (0 when empty).
double Median(std::vector<double> values);

AlertScore ScoreAlerts(const std::vector<FileReview>& reviews, const PlantedTruth& truth,
                       const std::vector<ChangeFinding>& changes, const ScoreOptions& options = {});

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ALERTS_SCORING_H_
