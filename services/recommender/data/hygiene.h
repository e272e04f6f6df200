// Data hygiene before training: what a model learns from must be shopper behaviour, once.
//   1. events of excluded users (privacy erasures: ForgetUser) are dropped;
//   2. duplicates are collapsed: the same (user, item, type) again within `duplicate_window_seconds`
//      (double clicks, an event ingested twice); a repeated rating keeps only the latest one;
//   3. bot-like users are excluded and counted: more than `bot_max_events_per_minute` events inside any
//      60-second window, or more than `bot_max_events` events in total;
//   4. users and items with fewer than the minimum distinct positive interactions are removed, repeatedly
//      until both minimums hold at once (removing an item can push a user under the minimum: a k-core).
// The result has compact ids (first-seen order) and events sorted by (user, timestamp).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_DATA_HYGIENE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_DATA_HYGIENE_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct HygieneOptions {
  int min_user_interactions = 5;  // distinct items with a positive event (not skip / do_not_show)
  int min_item_interactions = 5;  // distinct users with a positive event
  int64_t duplicate_window_seconds = 1;
  int bot_max_events_per_minute = 300;  // 0: no rate check
  int64_t bot_max_events = 0;           // 0: no total cap
  absl::flat_hash_set<std::string> excluded_users;
  int max_core_iterations = 50;
};

struct HygieneReport {
  int64_t input_events = 0;
  int64_t excluded_user_events = 0;
  int64_t duplicate_events = 0;
  int64_t bot_users = 0;
  int64_t bot_events = 0;
  int64_t min_count_events = 0;  // events dropped with users/items under the minimums
  int64_t users_dropped = 0;     // by the minimums (bots are counted apart)
  int64_t items_dropped = 0;
  int64_t output_events = 0;
  int64_t output_users = 0;
  int64_t output_items = 0;
  int core_iterations = 0;

  std::string ToString() const;
};

// True for events that say the user wants the item (everything but skip and do_not_show).
bool IsPositive(EventType type);

InteractionLog Clean(const InteractionLog& in, const HygieneOptions& options,
                     HygieneReport* report = nullptr);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_DATA_HYGIENE_H_
