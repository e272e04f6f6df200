// The reads and alert updates behind the analyzer's insight RPCs (analyzer_service.h), each query a named
// constant in insights_queries.cc: product summaries (filtered, sorted, keyset-paged), one product with its
// weekly history, issues and open alerts, a product's analysed reviews, alerts (listed, acknowledged,
// resolved), a campaign's top performers and interactions per product by customer type. Reads run in
// read-only transactions bounded by the caller's deadline; rows come back as the RPCs' messages.
#ifndef MARKETLENS_SERVICES_ANALYZER_INSIGHTS_QUERIES_H_
#define MARKETLENS_SERVICES_ANALYZER_INSIGHTS_QUERIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "marketlens/analyzer/v1/analyzer.pb.h"

namespace marketlens::analyzer {

// A column of insights.product_summary to sort by, and how.
struct SummarySort {
  const char* column;
  bool descending;
  bool text;
};

// Where a keyset page starts: after the row with this sort key (as text) and id.
struct PageKey {
  std::string sort_key;
  std::string id;
};

struct ProductListQuery {
  std::string category;         // "" = any
  std::string sentiment_label;  // "" = any
  double min_rating = 0;        // 0 = any
  std::string q;                // in the title or brand, any case; "" = any
  SummarySort sort;
  std::optional<PageKey> after;
  int page_size = 20;
};
struct ProductPage {
  std::vector<analyzer::v1::ProductInsights> products;  // summary fields only
  std::optional<PageKey> last;  // the page's last row when more follow (sort key, product id)
  int64_t total = 0;            // rows matching the filters
};

// Pages over a product's reviews or over alerts start after (created/raised micros, id); "" = first page.
struct ReviewPage {
  std::vector<analyzer::v1::ProductReview> reviews;
  std::optional<PageKey> last;  // (created_at micros, review id) when more follow
};

struct AlertQuery {
  std::string product_id, kind, category, state;  // "" = any
  bool open_only = false;
  std::string since_micros;  // "" = any
  std::string after_micros, after_id;
  int page_size = 50;
};
struct AlertPage {
  std::vector<analyzer::v1::Alert> alerts;
  std::optional<PageKey> last;  // (raised_at micros, alert id) when more follow
};

class InsightsQueries {
 public:
  explicit InsightsQueries(postgres::PgPool* pool) : pool_(pool) {}

  absl::StatusOr<ProductPage> ListProducts(const ProductListQuery& query, absl::Time deadline) const;
  // The summary with its weekly history, issues (with quotes) and open alerts; a product known to raw.*
  // but not analysed yet comes back with its catalogue fields only. nullopt when the product is unknown.
  absl::StatusOr<std::optional<analyzer::v1::ProductInsights>> GetProduct(const std::string& product_id,
                                                                          absl::Time deadline) const;
  absl::StatusOr<ReviewPage> ListReviews(const std::string& product_id, const std::string& after_micros,
                                         const std::string& after_id, int page_size,
                                         absl::Time deadline) const;
  absl::StatusOr<AlertPage> ListAlerts(const AlertQuery& query, absl::Time deadline) const;
  // Acknowledges or resolves an alert (id is a UUID): NOT_FOUND when unknown, FAILED_PRECONDITION when
  // already resolved. Resolving refreshes the product summary's count of open alerts.
  absl::StatusOr<analyzer::v1::Alert> ChangeAlertState(const std::string& id, bool resolve,
                                                       absl::Time deadline) const;
  // Engagement rate = (likes + comments + shares) / views over each influencer's posts in the campaign.
  absl::StatusOr<std::vector<analyzer::v1::TopPerformer>> TopPerformers(const std::string& campaign_id,
                                                                        int limit, absl::Time deadline) const;
  absl::StatusOr<std::vector<analyzer::v1::ProductInteractionCount>> InteractionsByProduct(
      const std::string& customer_type, absl::Time deadline) const;

 private:
  postgres::PgPool* pool_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_INSIGHTS_QUERIES_H_
