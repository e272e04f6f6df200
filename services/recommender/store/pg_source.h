// Training input from Postgres: the marketplace's interactions as collected (raw.interactions), the
// shoppers' feedback (recsys.events), the catalogue (raw.products: text, category, brand, attributes for
// content similarity) and the shoppers' regions (raw.customers, for popularity per region). Shoppers who
// asked to be forgotten (recsys.forgotten_users) are excluded here already.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_STORE_PG_SOURCE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_STORE_PG_SOURCE_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct PgTrainingData {
  InteractionLog log;
  ItemCatalog catalog;
  absl::flat_hash_map<std::string, std::string> user_region;
  absl::flat_hash_set<std::string> forgotten;  // excluded
  int64_t raw_interactions = 0;
  int64_t feedback_events = 0;
};

struct PgSourceOptions {
  std::optional<absl::Time> since;  // only events at or after (none: everything)
  absl::Duration timeout = absl::Minutes(10);
};

absl::StatusOr<PgTrainingData> LoadTrainingData(postgres::PgPool& pool, const PgSourceOptions& options = {});

// raw.interactions.type -> EventType ("view", "add_to_cart", "purchase", "rating").
std::optional<EventType> RawInteractionType(absl::string_view type);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_STORE_PG_SOURCE_H_
