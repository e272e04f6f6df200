// Per-product insights from the product's analysed reviews, as pure functions (the store reads the rows
// and writes the results; tests call these directly):
//   - average rating and sentiment, overall and per ISO week (weeks start on Monday, UTC);
//   - review velocity: reviews per week over the last `trend_weeks` weeks up to `now`, and its trend (the
//     least-squares slope of those weekly counts, in reviews/week per week);
//   - sentiment trend: the slope of the weekly mean sentiment over the same weeks (weeks without reviews
//     are skipped);
//   - issue shares (of all reviews) with the latest quotes, overall and per week;
//   - feature feedback: per aspect, mentions and mean polarity;
//   - alerts: a recent window (the last `recent_days` before `now`) against the baseline before it:
//       rating_drop     Welch's t-test on the star ratings (one-sided, lower), and a drop >= min_rating_drop;
//       sentiment_drop  Welch's t-test on review sentiment, and a drop >= min_sentiment_drop;
//       issue_spike     two-proportion z-test per issue category (one-sided, higher), and a rise in share
//                       >= min_issue_share_rise with at least min_issue_count recent mentions;
//     each significant at p < alpha. Small samples never alert (min_recent / min_baseline reviews).
// `now` is the data's clock (the newest review seen), so a replayed or simulated history alerts as it would
// have at the time.
#ifndef MARKETLENS_SERVICES_ANALYZER_INSIGHTS_AGGREGATE_H_
#define MARKETLENS_SERVICES_ANALYZER_INSIGHTS_AGGREGATE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace marketlens::analyzer {

struct ReviewFact {
  absl::Time created_at;
  int rating = 0;
  double sentiment = 0;
  std::vector<std::string> issues;           // categories
  std::vector<std::string> issue_sentences;  // same length as issues
  std::vector<std::string> aspects;
  std::vector<double> aspect_polarities;  // same length as aspects
  std::string id;                         // the review's id (evidence for alerts; may be empty)
};

struct WeeklyAggregate {
  absl::CivilDay week_start;
  double average_rating = 0;
  double sentiment = 0;
  int reviews = 0;
  std::map<std::string, int> issue_counts;
};

struct IssueAggregate {
  std::string category;
  int count = 0;
  double share = 0;
  std::vector<std::string> quotes;  // newest first, at most 3, distinct
};

struct FeatureAggregate {
  std::string aspect;
  int mentions = 0;
  double polarity = 0;
};

struct ProductAggregate {
  int review_count = 0;
  double average_rating = 0;
  double sentiment = 0;
  double reviews_per_week = 0;
  double velocity_trend = 0;
  double sentiment_trend = 0;
  absl::Time last_review_at = absl::InfinitePast();
  std::vector<WeeklyAggregate> weekly;     // oldest first, only weeks with reviews
  std::vector<IssueAggregate> issues;      // by count, highest first
  std::vector<FeatureAggregate> features;  // by mentions, highest first
};

// The recent window is the last recent_days, widened back to the newest min_recent reviews (at most
// max_recent_days) for products reviewed less than about twice a week: most of a real catalogue is such a
// long tail, and a fixed month would leave those products never checked. The baseline is the
// baseline_days before the recent window.
struct AlertOptions {
  int recent_days = 28;
  int max_recent_days = 180;
  int baseline_days = 365;
  double alpha = 0.01;
  int min_recent = 8;
  int min_baseline = 15;
  double min_rating_drop = 0.3;
  double min_sentiment_drop = 0.15;
  double min_issue_share_rise = 0.05;
  int min_issue_count = 3;
};

struct AlertFinding {
  std::string kind;    // "rating_drop", "sentiment_drop", "issue_spike"
  std::string metric;  // "average_rating", "sentiment", "issue_share:<category>"
  double before = 0;
  double after = 0;
  double p_value = 1;
  int recent_reviews = 0;
  int baseline_reviews = 0;
  std::string message;
};

struct AggregateOptions {
  int trend_weeks = 8;
  int max_quotes = 3;
};

// Monday of t's week (UTC).
absl::CivilDay WeekStart(absl::Time t);

ProductAggregate Aggregate(const std::vector<ReviewFact>& facts, absl::Time now,
                           const AggregateOptions& options = {});
std::vector<AlertFinding> DetectAlerts(const std::vector<ReviewFact>& facts, absl::Time now,
                                       const AlertOptions& options = {});

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_INSIGHTS_AGGREGATE_H_
