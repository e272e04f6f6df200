// `cli alerts FILE`: quality alerts for any reviews file with exactly the service's code (the local engine
// trained on the file's ratings as the pipeline trains it, insights/change_detection across all products).
//
// FILE is JSON lines of reviews: Amazon's format (reviewerID, asin, overall, reviewText, summary,
// unixReviewTime) as in the Amazon 5-core files and the marketplace export's reviews.json; `id`/`review_id`,
// `product_id`, `rating`, `title`, `text`, `created_at` (RFC 3339) are read too when present.
// Prints one JSON object per open alert (product_id, kind, metric, since, changed_after, since_earliest,
// since_latest, before, after, p_value, after_reviews, before_reviews, evidence, message) and ends with
// `products=N reviews=M alerts=K`. `since` is the first review that shows the change, `changed_after` the
// day of the last review before it: the change happened in between (the reviews cannot date it inside that
// gap). since_earliest / since_latest (open rating changes only, else omitted): the 90% credible range of
// the change date (ChangeLocationCredibleSplits), how firm `since` is.
#ifndef MARKETLENS_SERVICES_ANALYZER_CLI_ALERTS_H_
#define MARKETLENS_SERVICES_ANALYZER_CLI_ALERTS_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/insights/change_detection.h"

namespace marketlens::analyzer {

struct FileReview {
  std::string id;
  std::string product_id;
  std::string title;
  std::string text;
  int rating = 0;
  absl::Time created_at;
};

// Reads JSON lines; lines that are not JSON or lack a product, a rating or a time are counted in *skipped.
// NOT_FOUND when the file cannot be read.
// An exact repeat of a review (the same reviewer or id, product, time, title and text) is dropped and
// counted in *duplicates (when given).
absl::StatusOr<std::vector<FileReview>> ReadReviewsFile(const std::string& path, int* skipped,
                                                        int* duplicates = nullptr);

// Trains the engine's weak-label model on the reviews' ratings (as the pipeline does; rules only when
// training is not possible) and analyses every review: each product's facts, and the data's clock.
struct AnalysedReviews {
  std::map<std::string, std::vector<ReviewFact>> products;
  absl::Time now = absl::InfinitePast();  // the newest review
};
AnalysedReviews AnalyseReviews(const std::vector<FileReview>& reviews, Engine& engine);

struct OfflineAlerts {
  int products = 0;
  int reviews = 0;
  absl::Time now;                      // the newest review
  std::vector<ChangeFinding> changes;  // open alerts and reverted history, by product and metric
  int open() const;
};

// AnalyseReviews, then change detection across all products.
OfflineAlerts AlertsForReviews(const std::vector<FileReview>& reviews, Engine& engine,
                               const ChangeOptions& options = {});

// One JSON line per open alert.
std::string AlertJson(const ChangeFinding& f);

// The command: exit code 0 done, 1 unreadable file.
int RunAlertsCommand(const std::string& file, std::ostream& out, std::ostream& err);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_CLI_ALERTS_H_
