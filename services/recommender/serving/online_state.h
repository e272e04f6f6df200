// OnlineState: what shoppers did since the served model was trained, kept in memory per replica so that
// feedback changes the very next answer: recent positive events (folded into the user's ALS vector and
// item-neighbour history at request time), items they asked not to see, items they bought, and users who
// asked to be forgotten. Fed by RecordFeedback on this replica and by the feedback stream from the others;
// do-not-show lists are also loaded from Postgres at start-up (they must outlive restarts).
// Bounded: at most max_events_per_user recent events per user and max_users users (the least recently
// updated are dropped: they are in Postgres, and the next training run has them).
// Thread-safe (16 shards, each with its own mutex).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_ONLINE_STATE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_ONLINE_STATE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct OverlayEvent {
  std::string item_id;
  EventType type = EventType::kView;
  int64_t timestamp = 0;
};

struct UserOverlay {
  std::vector<OverlayEvent> events;  // oldest first
  absl::flat_hash_set<std::string> do_not_show;
  absl::flat_hash_set<std::string> bought;
  uint64_t last_update = 0;  // logical clock, for eviction
  bool empty() const { return events.empty() && do_not_show.empty() && bought.empty(); }
};

struct OnlineStateOptions {
  int max_events_per_user = 200;
  int64_t max_users = 200000;
};

class OnlineState {
 public:
  explicit OnlineState(OnlineStateOptions options = {}) : options_(options) {}

  // Records one event: do_not_show adds to the exclusion list, purchase to the bought list, positive
  // events to the recent history (skip is ignored). Returns false for a forgotten user (nothing stored).
  bool Record(const std::string& user, const std::string& item, EventType type, int64_t timestamp);
  // A copy of the user's overlay (empty when none).
  UserOverlay Get(const std::string& user) const;
  // Both at once (one lock): false for a forgotten user (overlay left empty).
  bool GetUnlessForgotten(const std::string& user, UserOverlay* overlay) const;
  bool HasOverlay(const std::string& user) const;

  // Erases everything about the user and remembers they are forgotten (their vector in older models is
  // ignored from now on).
  void Forget(const std::string& user);
  bool IsForgotten(const std::string& user) const;
  void AddForgotten(const std::vector<std::string>& users);

  size_t users() const;

 private:
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, UserOverlay> users ABSL_GUARDED_BY(mu);
    absl::flat_hash_set<std::string> forgotten ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(const std::string& user) const;
  void EvictIfNeeded(Shard& shard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  OnlineStateOptions options_;
  mutable std::array<Shard, 16> shards_;
  std::atomic<uint64_t> clock_{0};
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_ONLINE_STATE_H_
