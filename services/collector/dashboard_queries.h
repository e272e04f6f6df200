// Read views of what the collector stored, for the gateway's dashboard
// (docs/architecture.md, Services): a product's price, stock and rating history
// (raw.product_snapshots), the shoppers (raw.customers) to pick a demo shopper
// from, and the campaigns seen in influencer posts (raw.campaign_posts) with
// their totals.
//
// Why here and not in the analyzer: these are plain reads of raw.*, which the
// collector owns; the analyzer serves derived insights. Kept out of
// collector_service.cc so that the service only maps statuses.
//
// Every list is keyset-paged with an opaque page token bound to its query (a
// token of another list or product is INVALID_ARGUMENT naming page_token).
// Errors name the request field they are about
// ("page_size must be 0..1000"), so the gateway can return it as the error's
// field. Every query is read-only and bounded by the caller's timeout.
#ifndef MARKETLENS_SERVICES_COLLECTOR_DASHBOARD_QUERIES_H_
#define MARKETLENS_SERVICES_COLLECTOR_DASHBOARD_QUERIES_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "marketlens/collector/v1/collector.pb.h"

namespace marketlens::collector {

inline constexpr int kDefaultPriceHistoryPageSize = 100;
inline constexpr int kMaxPriceHistoryPageSize = 1000;
inline constexpr int kDefaultShopperPageSize = 50;
inline constexpr int kMaxShopperPageSize = 500;
inline constexpr int kDefaultCampaignPageSize = 50;
inline constexpr int kMaxCampaignPageSize = 500;

class DashboardQueries {
 public:
  // `pool` must outlive this object.
  explicit DashboardQueries(postgres::PgPool* pool) : pool_(pool) {}

  // Newest observation first, optionally within [since, until). NOT_FOUND
  // naming product_id for a product the collector never saw; INVALID_ARGUMENT
  // for an empty product_id, a bad page_size/page_token or since >= until.
  absl::StatusOr<v1::ListPriceHistoryResponse> ListPriceHistory(const v1::ListPriceHistoryRequest& request,
                                                                absl::Duration timeout) const;

  // By id, optionally of one segment, with each shopper's interaction count.
  absl::StatusOr<v1::ListShoppersResponse> ListShoppers(const v1::ListShoppersRequest& request,
                                                        absl::Duration timeout) const;

  // Distinct campaigns by id, with post and influencer counts, total views and
  // mean engagement rate.
  absl::StatusOr<v1::ListCampaignsResponse> ListCampaigns(const v1::ListCampaignsRequest& request,
                                                          absl::Duration timeout) const;

 private:
  postgres::PgPool* pool_;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_DASHBOARD_QUERIES_H_
