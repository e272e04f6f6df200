#include "services/recommender/store/pg_source.h"

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace marketlens::recommender {

std::optional<EventType> RawInteractionType(absl::string_view type) {
  if (type == "view") return EventType::kView;
  if (type == "add_to_cart") return EventType::kAddToCart;
  if (type == "purchase") return EventType::kPurchase;
  if (type == "rating") return EventType::kRating;
  return std::nullopt;
}

absl::StatusOr<PgTrainingData> LoadTrainingData(postgres::PgPool& pool, const PgSourceOptions& options) {
  PgTrainingData out;
  std::optional<double> since;
  if (options.since) since = absl::ToDoubleSeconds(*options.since - absl::UnixEpoch());
  RETURN_IF_ERROR(pool.Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        out = PgTrainingData();
        // A consistent snapshot of big reads: allow them more than the pool's per-statement timeout.
        RETURN_IF_ERROR(tx.Exec("SELECT set_config('statement_timeout', $1, true)",
                                absl::StrCat(absl::ToInt64Milliseconds(options.timeout))));
        ASSIGN_OR_RETURN(auto forgotten, tx.Exec("SELECT user_id FROM recsys.forgotten_users"));
        for (const auto& row : forgotten) out.forgotten.insert(row[0].as<std::string>());

        ASSIGN_OR_RETURN(
            auto raw,
            tx.Exec("SELECT customer_id, product_id, type, coalesce(rating, 0), "
                    "floor(extract(epoch FROM occurred_at))::bigint, session_id FROM raw.interactions "
                    "WHERE ($1::float8 IS NULL OR occurred_at >= to_timestamp($1)) ORDER BY occurred_at, id",
                    since));
        for (const auto& row : raw) {
          const std::string user = row[0].as<std::string>();
          if (out.forgotten.contains(user)) continue;
          std::optional<EventType> type = RawInteractionType(row[2].as<std::string>());
          if (!type) continue;
          const float value = *type == EventType::kRating ? row[3].as<float>() : 1.0f;
          out.log.Add(user, row[1].as<std::string>(), *type, value, row[4].as<int64_t>(),
                      row[5].as<std::string>());
          ++out.raw_interactions;
        }
        ASSIGN_OR_RETURN(
            auto feedback,
            tx.Exec("SELECT user_id, item_id, event, floor(extract(epoch FROM occurred_at))::bigint FROM "
                    "recsys.events "
                    "WHERE ($1::float8 IS NULL OR occurred_at >= to_timestamp($1)) ORDER BY occurred_at, id",
                    since));
        for (const auto& row : feedback) {
          const std::string user = row[0].as<std::string>();
          if (out.forgotten.contains(user)) continue;
          std::optional<EventType> type = ParseEventType(row[2].as<std::string>());
          if (!type) continue;
          out.log.Add(user, row[1].as<std::string>(), *type, 1.0f, row[3].as<int64_t>());
          ++out.feedback_events;
        }
        ASSIGN_OR_RETURN(auto products,
                         tx.Exec("SELECT id, title, category, brand, description FROM raw.products"));
        for (const auto& row : products) {
          ItemInfo& info = out.catalog[row[0].as<std::string>()];
          info.title = row[1].as<std::string>();
          info.category = row[2].as<std::string>();
          info.brand = row[3].as<std::string>();
          info.description = row[4].as<std::string>();
        }
        ASSIGN_OR_RETURN(
            auto attributes,
            tx.Exec("SELECT p.id, a.key, a.value FROM raw.products p, jsonb_each_text(p.attributes) a "
                    "WHERE jsonb_typeof(p.attributes) = 'object' AND a.value IS NOT NULL AND length(a.value) "
                    "<= 64"));
        for (const auto& row : attributes) {
          out.catalog[row[0].as<std::string>()].attributes.emplace_back(row[1].as<std::string>(),
                                                                        row[2].as<std::string>());
        }
        ASSIGN_OR_RETURN(auto customers, tx.Exec("SELECT id, region FROM raw.customers WHERE region <> ''"));
        for (const auto& row : customers)
          out.user_region[row[0].as<std::string>()] = row[1].as<std::string>();
        return absl::OkStatus();
      },
      {.isolation = postgres::IsolationLevel::kRepeatableRead,
       .read_only = true,
       .timeout = options.timeout}));
  return out;
}

}  // namespace marketlens::recommender
