// The second data source: the same API over real dumps instead of a generated world.
//   - Amazon review JSON lines (2014 and 2018 formats): reviewerID, asin, overall, reviewText, summary,
//     unixReviewTime, optional verified, vote ("1,234" or 3), helpful ([2, 3]), style, reviewerName;
//   - Amazon metadata JSON lines: asin, title, price (12.99, "$12.99", "$5.99 - $12.99"), brand,
//     categories ([["Books", ...]]) or category (["Books", ...]) / main_cat, description; the 2014 files
//     are Python reprs ({'asin': ...}) and are read too;
//   - rating triples like MovieLens u.data: "user item rating timestamp", tab separated (also "::" as in
//     ml-1m, or commas with a header line as in ratings.csv).
// Files may be gzipped. Reviews become reviews and ratings become RATING interactions; every reviewer or
// rater becomes a customer and every asin or item a product (with metadata when there is some).
// Malformed lines are counted and the first few reported with their line number, never fatal; exact
// duplicate rows (real dumps have them) are served once and counted.
#ifndef MARKETLENS_SERVICES_MARKETPLACE_REPLAY_H_
#define MARKETLENS_SERVICES_MARKETPLACE_REPLAY_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/marketplace/world.h"

namespace marketlens::marketplace {

struct ReplayOptions {
  std::string reviews_path;   // "" = none
  std::string metadata_path;  // "" = none
  std::string ratings_path;   // "" = none
  int max_bad_line_examples = 10;
};

// INVALID_ARGUMENT when no file is given; NOT_FOUND when a file cannot be opened. Per-file statistics
// are in WorldData::replay_files.
absl::StatusOr<WorldData> Replay(const ReplayOptions& options);

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_REPLAY_H_
