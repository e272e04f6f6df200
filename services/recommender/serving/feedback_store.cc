#include "services/recommender/serving/feedback_store.h"

#include <optional>

#include "common/status/macros.h"

namespace marketlens::recommender {
namespace {

constexpr char kInsertEvent[] =
    "INSERT INTO recsys.events (user_id, item_id, event, experiment_id, variant, surface, occurred_at, "
    "stream_id) "
    "SELECT $1, $2, $3, $4, $5, $6, to_timestamp($7), $8 "
    // An event still in the stream when its user was forgotten must not come back.
    "WHERE NOT EXISTS (SELECT 1 FROM recsys.forgotten_users WHERE user_id = $1) "
    // Nor one whose erasure was asked for (the gateway's tombstone, before this service's step ran).
    "AND NOT privacy.is_erased($1) "
    "ON CONFLICT (stream_id) WHERE stream_id IS NOT NULL DO NOTHING";

constexpr char kInsertExposure[] =
    "INSERT INTO recsys.exposures (experiment_id, variant, user_id, surface, model_version, items) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
constexpr char kInsertAssignment[] =
    "INSERT INTO recsys.assignments (experiment_id, user_id, variant) "
    "SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM recsys.experiments WHERE id = $1) "
    "ON CONFLICT (experiment_id, user_id) DO NOTHING";

constexpr char kDeleteEvents[] = "DELETE FROM recsys.events WHERE user_id = $1";
constexpr char kDeleteInteractions[] = "DELETE FROM raw.interactions WHERE customer_id = $1";
constexpr char kDeleteExposures[] = "DELETE FROM recsys.exposures WHERE user_id = $1";
constexpr char kDeleteAssignments[] = "DELETE FROM recsys.assignments WHERE user_id = $1";
constexpr char kInsertForgotten[] =
    "INSERT INTO recsys.forgotten_users (user_id) VALUES ($1) ON CONFLICT DO NOTHING";

constexpr char kForgottenUsers[] = "SELECT user_id FROM recsys.forgotten_users";
constexpr char kDoNotShow[] =
    "SELECT user_id, item_id, floor(extract(epoch FROM max(occurred_at)))::bigint FROM recsys.events "
    "WHERE event = 'do_not_show' GROUP BY user_id, item_id";

double Seconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

absl::Status Insert(postgres::Tx& tx, const FeedbackEvent& e, std::optional<std::string> stream_id) {
  auto r = tx.Exec(kInsertEvent, e.user_id, e.item_id, std::string(EventTypeName(e.type)), e.experiment_id,
                   e.variant, e.surface, Seconds(e.time), std::move(stream_id));
  return r.status();
}

}  // namespace

absl::Status FeedbackStore::InsertEvent(const FeedbackEvent& e) const {
  auto r = pg_->Exec(kInsertEvent, e.user_id, e.item_id, std::string(EventTypeName(e.type)), e.experiment_id,
                     e.variant, e.surface, Seconds(e.time), std::optional<std::string>());
  return r.status();
}

absl::Status FeedbackStore::InsertStreamEvents(
    const std::vector<std::pair<FeedbackEvent, std::string>>& events) const {
  return pg_->Transact([&](postgres::Tx& tx) -> absl::Status {
    for (const auto& [event, stream_id] : events) {
      RETURN_IF_ERROR(Insert(tx, event, stream_id));
    }
    return absl::OkStatus();
  });
}

absl::Status FeedbackStore::WriteExposures(const std::vector<Exposure>& batch) const {
  return pg_->Transact([&](postgres::Tx& tx) -> absl::Status {
    for (const Exposure& x : batch) {
      ASSIGN_OR_RETURN(auto r, tx.Exec(kInsertExposure, x.experiment_id, x.variant, x.user_id, x.surface,
                                       x.model_version, x.items));
      ASSIGN_OR_RETURN(auto a, tx.Exec(kInsertAssignment, x.experiment_id, x.user_id, x.variant));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> FeedbackStore::EraseUser(
    const std::string& user_id) const {
  std::vector<std::pair<std::string, int64_t>> erased;
  RETURN_IF_ERROR(pg_->Transact([&](postgres::Tx& tx) -> absl::Status {
    erased.clear();
    for (const auto& [kind, sql] :
         std::vector<std::pair<const char*, const char*>>{{"recsys.events", kDeleteEvents},
                                                          {"raw.interactions", kDeleteInteractions},
                                                          {"recsys.exposures", kDeleteExposures},
                                                          {"recsys.assignments", kDeleteAssignments}}) {
      ASSIGN_OR_RETURN(auto r, tx.Exec(sql, user_id));
      erased.emplace_back(kind, r.affected_rows());
    }
    auto r = tx.Exec(kInsertForgotten, user_id);
    return r.status();
  }));
  return erased;
}

absl::StatusOr<PersistentFeedback> FeedbackStore::LoadPersistentState() const {
  PersistentFeedback state;
  RETURN_IF_ERROR(pg_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        state = PersistentFeedback();
        ASSIGN_OR_RETURN(auto forgotten, tx.Exec(kForgottenUsers));
        for (const auto& row : forgotten) state.forgotten_users.push_back(row[0].as<std::string>());
        ASSIGN_OR_RETURN(auto dns, tx.Exec(kDoNotShow));
        for (const auto& row : dns) {
          state.do_not_show.push_back(
              {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int64_t>()});
        }
        return absl::OkStatus();
      },
      {.read_only = true, .timeout = absl::Seconds(60)}));
  return state;
}

}  // namespace marketlens::recommender
