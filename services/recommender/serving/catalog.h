// What the serving path knows about items right now, independent of the model: stock, margin, category,
// region restrictions and active promotions (business rules), and text for content similarity, so that a
// product launched after the last training run can still be found and recommended. Loaded from Postgres
// (raw.products, recsys.item_region_restrictions, recsys.promotions) and refreshed periodically; each
// load is an immutable snapshot swapped in whole, so a request never sees half a refresh.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_CATALOG_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_CATALOG_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/recommender/algo/content.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct CatalogItem {
  std::string id;
  ItemInfo info;  // title, category, brand, description, attributes
  int32_t stock = 1;
  std::optional<double> margin;  // 0..1
  std::optional<double> price;   // in the shop's currency (raw.products.price_cents / 100)
  absl::flat_hash_set<std::string> blocked_regions;

  // What shoppers are shown for the item: its title, else its id.
  const std::string& display_name() const { return info.title.empty() ? id : info.title; }
};

struct Promotion {
  std::string id;
  std::string item_id;
  absl::Time starts = absl::InfinitePast();
  absl::Time ends = absl::InfiniteFuture();
  std::vector<std::string> surfaces;  // empty: all
  std::vector<std::string> regions;   // empty: all
  int slot = 0;
  std::string label;

  bool ActiveFor(absl::Time now, absl::string_view surface, absl::string_view region) const;
};

// What the business rules read of an item, packed (16 bytes) in one array per snapshot: ranking a candidate
// list then touches this small array instead of a CatalogItem (hundreds of bytes, a cache miss each).
struct RuleFacts {
  double margin = 0;
  int32_t category = -1;  // a per-snapshot id of the category; -1: no category
  bool has_margin = false;
  bool in_stock = false;
  bool has_blocked_regions = false;
};

class CatalogSnapshot {
 public:
  CatalogSnapshot(std::vector<CatalogItem> items, std::vector<Promotion> promotions, absl::Time loaded_at);

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // nullptr when unknown.
  const CatalogItem* Find(absl::string_view id) const;
  const CatalogItem& at(int32_t index) const { return items_[index]; }
  int32_t IndexOf(absl::string_view id) const;
  // Per item (indexes as at()): stock, margin, category id and whether some region is blocked.
  const RuleFacts& facts(int32_t index) const { return facts_[index]; }
  const std::vector<Promotion>& promotions() const { return promotions_; }
  absl::Time loaded_at() const { return loaded_at_; }
  // Unique per snapshot in this process (memos compare this, not addresses, which can be reused).
  uint64_t instance_id() const { return instance_id_; }
  // Content similarity over every catalogue item (indexes as at()).
  const ContentIndex& content() const { return content_; }
  // The title to show in reasons ("because you bought <title>"), the id when unknown.
  std::string DisplayName(absl::string_view id) const;

 private:
  std::vector<CatalogItem> items_;
  std::vector<RuleFacts> facts_;
  absl::flat_hash_map<std::string, int32_t> index_;
  std::vector<Promotion> promotions_;
  absl::Time loaded_at_;
  uint64_t instance_id_ = 0;
  ContentIndex content_;
};

// Reads the catalogue and rules from Postgres.
absl::StatusOr<std::shared_ptr<const CatalogSnapshot>> LoadCatalog(postgres::PgPool& pool);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_CATALOG_H_
