// The six marketplace resources a crawl walks, and for each: how to ask for one page (token, `since`
// filter), how to turn the page into a JSON array for PostgreSQL's jsonb_to_recordset, and the one SQL
// statement that stores it in raw.*:
//
//   products        upsert by id; a snapshot row in raw.product_snapshots whenever price, stock, rating
//                   average or rating count differ from what raw.products held (and on first sight), so the
//                   history is append-only and an update never destroys the past
//   reviews         upsert by id, never back to an older version; every version seen is kept in
//                   raw.review_versions; new and edited reviews are queued in ops.review_outbox (announced on
//                   the Redis stream by ReviewPublisher)
//   customers, campaign_posts, contacts   upsert by id (campaign posts with their caption and hashtags)
//   interactions    insert by id (an interaction never changes)
//
// Storing the same page twice changes nothing, which together with the per-page checkpoint is what makes a
// crawl safe to resume after a crash.
#ifndef MARKETLENS_SERVICES_COLLECTOR_RESOURCES_H_
#define MARKETLENS_SERVICES_COLLECTOR_RESOURCES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "marketlens/marketplace/v1/marketplace.pb.h"
#include "services/collector/marketplace_client.h"
#include "services/collector/stop_signal.h"

namespace marketlens::collector {

struct PageRequest {
  std::string page_token;
  std::optional<absl::Time> since;  // only for resources with supports_since
  int page_size = 100;
};

struct Page {
  std::string items_json;  // JSON array of objects
  int64_t items = 0;
  std::string next_page_token;  // empty on the last page
  // For reviews: how many are new or edited is only known when stored (see StorePage).
};

struct Resource {
  std::string name;
  // Whether the marketplace can filter this list by change time (incremental walks): all six can
  // (products/customers/campaign posts by updated_since, reviews by updated_at, interactions and contacts by
  // their time, as they never change).
  bool supports_since = false;
  // Fetches one page through the client (with its retries).
  absl::Status (*fetch)(MarketplaceClient& client, const PageRequest& request, Page* page, StopSignal& stop,
                        CallOutcome* outcome) = nullptr;
  // The statement that stores a page: $1 = the page's JSON array, and $2 = the crawl id when
  // store_uses_crawl_id.
  std::string store_sql;
  bool store_uses_crawl_id = false;
  // What the source holds (for the ETA of full walks).
  int64_t (*expected)(const mv1::WorldInfo& info) = nullptr;
};

// All resources, in the order a crawl starts them.
const std::vector<Resource>& Resources();
const Resource* FindResource(absl::string_view name);
std::vector<std::string> ResourceNames();

// JSON helpers (exposed for tests): a string literal, and a timestamp ("null" when unset).
std::string JsonQuote(absl::string_view s);
std::string JsonTimestamp(const google::protobuf::Timestamp& ts, bool unset_is_null = true);

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_RESOURCES_H_
