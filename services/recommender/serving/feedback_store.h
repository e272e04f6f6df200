// The Postgres side of the feedback pipeline (feedback.h), each query a named constant in
// feedback_store.cc: shoppers' events (written directly, or from the Redis stream keyed by the entry id),
// exposures with the users' experiment assignments, a shopper's erasure with its tombstone, and the state
// that survives restarts (forgotten users, do-not-show lists).
//
// Privacy: no event of a forgotten user (recsys.forgotten_users) or of a person whose erasure was asked for
// (privacy.tombstones, before this service's step ran) is ever written.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_FEEDBACK_STORE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_FEEDBACK_STORE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/recommender/serving/online_state.h"

namespace marketlens::recommender {

struct FeedbackEvent {
  std::string user_id;
  std::string item_id;
  EventType type = EventType::kView;
  std::string experiment_id;
  std::string variant;
  std::string surface;
  absl::Time time = absl::Now();
};

struct Exposure {
  std::string experiment_id;
  std::string variant;
  std::string user_id;
  std::string surface;
  std::string model_version;
  int items = 0;
};

// What LoadPersistentState reads.
struct PersistentFeedback {
  struct DoNotShow {
    std::string user_id, item_id;
    int64_t unix_seconds = 0;  // the latest such event
  };
  std::vector<std::string> forgotten_users;
  std::vector<DoNotShow> do_not_show;
};

class FeedbackStore {
 public:
  explicit FeedbackStore(postgres::PgPool* pg) : pg_(pg) {}

  // One event, without a stream entry (Redis unavailable).
  absl::Status InsertEvent(const FeedbackEvent& event) const;
  // Events read from the stream, each with its entry id (a redelivered entry is a no-op), in one
  // transaction: all or none.
  absl::Status InsertStreamEvents(const std::vector<std::pair<FeedbackEvent, std::string>>& events) const;
  // Exposures and the users' experiment assignments (for known experiments), in one transaction.
  absl::Status WriteExposures(const std::vector<Exposure>& batch) const;
  // Deletes the shopper's rows (recsys.events, raw.interactions, recsys.exposures, recsys.assignments) and
  // writes the tombstone, in one transaction; rows deleted per kind, in that order.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> EraseUser(const std::string& user_id) const;
  // Forgotten users and the latest do-not-show per (user, item).
  absl::StatusOr<PersistentFeedback> LoadPersistentState() const;

 private:
  postgres::PgPool* pg_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_FEEDBACK_STORE_H_
