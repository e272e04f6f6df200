#include "services/recommender/serving/catalog.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/macros.h"

namespace marketlens::recommender {
namespace {

bool Matches(const std::vector<std::string>& allowed, absl::string_view value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

// Postgres text[] output ({a,b,"c d"}) -> strings. Our values are plain words (surfaces, region codes).
std::vector<std::string> ParseTextArray(absl::string_view text) {
  std::vector<std::string> out;
  text = absl::StripPrefix(absl::StripSuffix(text, "}"), "{");
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    part = absl::StripSuffix(absl::StripPrefix(part, "\""), "\"");
    out.emplace_back(part);
  }
  return out;
}

uint64_t NextInstanceId() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

}  // namespace

bool Promotion::ActiveFor(absl::Time now, absl::string_view surface, absl::string_view region) const {
  return starts <= now && now < ends && Matches(surfaces, surface) && Matches(regions, region);
}

CatalogSnapshot::CatalogSnapshot(std::vector<CatalogItem> items, std::vector<Promotion> promotions,
                                 absl::Time loaded_at)
    : items_(std::move(items)),
      promotions_(std::move(promotions)),
      loaded_at_(loaded_at),
      instance_id_(NextInstanceId()),
      content_(ContentOptions{.threads = 1}) {
  index_.reserve(items_.size());
  std::vector<ItemInfo> infos;
  infos.reserve(items_.size());
  facts_.resize(items_.size());
  absl::flat_hash_map<absl::string_view, int32_t> category_ids;
  for (size_t i = 0; i < items_.size(); ++i) {
    const CatalogItem& item = items_[i];
    index_.emplace(item.id, static_cast<int32_t>(i));
    infos.push_back(item.info);
    RuleFacts& f = facts_[i];
    f.in_stock = item.stock > 0;
    f.has_margin = item.margin.has_value();
    f.margin = item.margin.value_or(0);
    f.has_blocked_regions = !item.blocked_regions.empty();
    if (!item.info.category.empty()) {
      f.category =
          category_ids.emplace(item.info.category, static_cast<int32_t>(category_ids.size())).first->second;
    }
  }
  content_.Build(infos);
  std::stable_sort(promotions_.begin(), promotions_.end(),
                   [](const Promotion& a, const Promotion& b) { return a.slot < b.slot; });
}

const CatalogItem* CatalogSnapshot::Find(absl::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &items_[it->second];
}

int32_t CatalogSnapshot::IndexOf(absl::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

std::string CatalogSnapshot::DisplayName(absl::string_view id) const {
  const CatalogItem* item = Find(id);
  return item != nullptr ? item->display_name() : std::string(id);
}

absl::StatusOr<std::shared_ptr<const CatalogSnapshot>> LoadCatalog(postgres::PgPool& pool) {
  std::vector<CatalogItem> items;
  std::vector<Promotion> promotions;
  absl::Status s = pool.Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        items.clear();
        promotions.clear();
        ASSIGN_OR_RETURN(auto rows, tx.Exec("SELECT id, title, category, brand, description, stock, margin, "
                                            "price_cents FROM raw.products "
                                            "ORDER BY id"));
        absl::flat_hash_map<std::string, size_t> index;
        for (const auto& row : rows) {
          CatalogItem item;
          item.id = row[0].as<std::string>();
          item.info.title = row[1].as<std::string>();
          item.info.category = row[2].as<std::string>();
          item.info.brand = row[3].as<std::string>();
          item.info.description = row[4].as<std::string>();
          item.stock = row[5].as<int32_t>();
          if (!row[6].is_null()) item.margin = row[6].as<double>();
          if (!row[7].is_null()) item.price = static_cast<double>(row[7].as<int64_t>()) / 100.0;
          index[item.id] = items.size();
          items.push_back(std::move(item));
        }
        ASSIGN_OR_RETURN(
            auto attributes,
            tx.Exec("SELECT p.id, a.key, a.value FROM raw.products p, jsonb_each_text(p.attributes) a "
                    "WHERE jsonb_typeof(p.attributes) = 'object' AND a.value IS NOT NULL AND length(a.value) "
                    "<= 64"));
        for (const auto& row : attributes) {
          auto it = index.find(row[0].as<std::string>());
          if (it != index.end()) {
            items[it->second].info.attributes.emplace_back(row[1].as<std::string>(),
                                                           row[2].as<std::string>());
          }
        }
        ASSIGN_OR_RETURN(auto restrictions,
                         tx.Exec("SELECT item_id, region FROM recsys.item_region_restrictions"));
        for (const auto& row : restrictions) {
          auto it = index.find(row[0].as<std::string>());
          if (it != index.end()) items[it->second].blocked_regions.insert(row[1].as<std::string>());
        }
        ASSIGN_OR_RETURN(
            auto promos,
            tx.Exec(
                "SELECT id, item_id, extract(epoch FROM starts_at)::float8, extract(epoch FROM "
                "ends_at)::float8, "
                "surfaces::text, regions::text, slot, label FROM recsys.promotions WHERE ends_at > now()"));
        for (const auto& row : promos) {
          Promotion p;
          p.id = row[0].as<std::string>();
          p.item_id = row[1].as<std::string>();
          p.starts = absl::FromUnixMicros(static_cast<int64_t>(row[2].as<double>() * 1e6));
          p.ends = absl::FromUnixMicros(static_cast<int64_t>(row[3].as<double>() * 1e6));
          p.surfaces = ParseTextArray(row[4].as<std::string>());
          p.regions = ParseTextArray(row[5].as<std::string>());
          p.slot = row[6].as<int>();
          p.label = row[7].as<std::string>();
          promotions.push_back(std::move(p));
        }
        return absl::OkStatus();
      },
      {.isolation = postgres::IsolationLevel::kRepeatableRead,
       .read_only = true,
       .timeout = absl::Seconds(60)});
  if (!s.ok()) return s;
  return std::shared_ptr<const CatalogSnapshot>(
      std::make_shared<CatalogSnapshot>(std::move(items), std::move(promotions), absl::Now()));
}

}  // namespace marketlens::recommender
