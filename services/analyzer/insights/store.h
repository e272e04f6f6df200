// The analyzer's Postgres side: reads reviews from raw.*, writes per-review analyses and per-product
// insights (insights.review_analysis, product_weekly, issue_weekly, issues, product_summary, alerts), and
// keeps the weak-label model versions and discovered aspect terms (migration 0040_analyzer.sql).
//
// Everything written here can be rebuilt from raw.*: PendingReviews() finds what is missing or stale (not
// analysed, analysed at an older review version, or by another engine/model version), so a restarted or
// newly deployed analyzer catches up by itself. Writes are idempotent upserts; a product's insights are
// recomputed from all its analysed reviews in one transaction, so two instances recomputing the same
// product leave the same result.
#ifndef MARKETLENS_SERVICES_ANALYZER_INSIGHTS_STORE_H_
#define MARKETLENS_SERVICES_ANALYZER_INSIGHTS_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/analyzer/engine/aspects.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/text_model.h"
#include "services/analyzer/insights/aggregate.h"
#include "services/analyzer/insights/change_detection.h"

namespace marketlens::analyzer {

struct ReviewRow {
  std::string id;
  std::string product_id;
  std::string category;  // of the product ("" when the product is not known yet)
  std::string title;
  std::string text;
  int rating = 0;
  int version = 1;
  absl::Time created_at;
};

struct RecomputeResult {
  int reviews = 0;
  int alerts_open = 0;
  int alerts_raised = 0;
  int alerts_resolved = 0;
  int alerts_history = 0;  // reverted changes kept as resolved alerts (ReconcileAlerts)
};

// JSON arrays as stored in insights.review_analysis (exposed for tests).
std::string AspectsJson(const std::vector<AspectMention>& aspects);
std::string IssuesJson(const std::vector<IssueFlag>& issues);
std::string QualityJson(const std::vector<QualityFlag>& flags);  // [{flag, sentence}]
// A PostgreSQL array literal ({"a","b"}) of the strings.
std::string PgTextArray(const std::vector<std::string>& values);

class InsightsStore {
 public:
  explicit InsightsStore(postgres::PgPool* pool) : pool_(pool) {}

  // Reviews whose analysis is missing or stale for `engine_version`, with id > after_id, by id.
  absl::StatusOr<std::vector<ReviewRow>> PendingReviews(const std::string& engine_version,
                                                        const std::string& after_id, int limit);
  // The current version of these reviews (unknown ids are skipped).
  absl::StatusOr<std::vector<ReviewRow>> LoadReviews(const std::vector<std::string>& ids);
  // Upserts the analyses (one transaction). Returns the distinct product ids touched.
  absl::StatusOr<std::vector<std::string>> SaveAnalyses(
      const std::vector<std::pair<ReviewRow, Analysis>>& rows, const std::string& engine_version);

  // The data's clock: the newest review's created_at (InfinitePast when there are none).
  absl::StatusOr<absl::Time> DataNow();

  // Recomputes one product's insights from its analysed reviews, stores its change tests
  // (insights.change_tests) and reconciles its alerts against the catalogue-wide threshold.
  // (`alerts` is kept for callers; alerts come from change detection, insights/change_detection.h.)
  // `changes`: the change tests' options; with eb_stars and no eb_stars_model, the catalogue's prior is
  // fitted here (FitStarLevelsPrior) — the pipeline fits it once per batch and passes it in.
  absl::StatusOr<RecomputeResult> RecomputeProduct(const std::string& product_id, absl::Time now,
                                                   const AggregateOptions& aggregate = {},
                                                   const AlertOptions& alerts = {},
                                                   const ChangeOptions& changes = {});

  // A product's analysed reviews, as RecomputeProduct reads them for its change tests.
  absl::StatusOr<std::vector<ReviewFact>> ProductFacts(const std::string& product_id);

  // Every product's analysed reviews up to `now` counted by star level (1..5 stars; one aggregate): what
  // the empirical-Bayes star-levels prior is fitted on, the same counts DetectChanges fits it on.
  absl::StatusOr<std::vector<std::vector<int>>> StarLevelCounts(absl::Time now);
  // The empirical-Bayes star-levels model fitted on StarLevelCounts(now) (StarLevelsModelFromCounts).
  absl::StatusOr<std::shared_ptr<StarLevelsEmpiricalBayes>> FitStarLevelsPrior(absl::Time now,
                                                                               StarsStatistic statistic);

  // Alerts from the stored change tests: Benjamini-Hochberg (Tarone-screened) across every product x metric
  // test, then per product (all products when `product_id` is empty): an open change that passes and meets
  // its effect size raises one alert (or refreshes the unresolved one for that product, kind and metric:
  // never a duplicate; an alert resolved by itself for the same change, dated within 30 days, is reopened,
  // one resolved by a user is not raised again), and an unresolved alert whose metric recovered (the change
  // reverted or its effect is gone) is resolved; a change that passes but had reverted before any alert was
  // raised for it is kept as history, a resolved alert (resolved_by 'recovered', resolved_at its recovery),
  // so the product's alerts list it. Also keeps product_summary.open_alerts, and (catalogue-wide
  // pass) lists catalogue products without reviews in product_summary with review_count 0.
  absl::StatusOr<RecomputeResult> ReconcileAlerts(const std::string& product_id = "",
                                                  const ChangeOptions& options = {});

  // Rated reviews for training (newest first, at most `limit`), with their product's category.
  struct TrainingRow {
    std::string category;
    RatedText rated;
  };
  absl::StatusOr<std::vector<TrainingRow>> TrainingData(int limit);
  absl::StatusOr<int64_t> CountReviews();

  // Stores a model version; `activate` makes it the one every instance loads.
  absl::Status SaveModel(const TextModel& model, bool activate);
  absl::StatusOr<std::optional<TextModel>> LoadActiveModel();

  absl::Status SaveDiscoveredTerms(const std::vector<DiscoveredTerm>& terms);
  absl::StatusOr<std::vector<DiscoveredTerm>> LoadDiscoveredTerms();

  postgres::PgPool* pool() { return pool_; }

 private:
  postgres::PgPool* pool_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_INSIGHTS_STORE_H_
