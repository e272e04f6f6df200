// Session-based kNN for anonymous and short-history shoppers (V-SKNN, Ludewig & Jannach 2018, "Evaluation of
// session-based recommendation algorithms"): the current session is compared with past sessions that share
// an item with it; the most similar ones vote for their items.
//   - candidates: the `sample` most recent past sessions containing any of the session's items;
//   - similarity: sum over shared items of a position weight (the session's last item weighs 1, the one
//     before 1 - 1/len, ...: recent clicks say most about the next one), divided by sqrt(|past session|);
//   - score(item) = sum over the `neighbors` most similar sessions holding it of their similarity, times
//     idf(item)^idf_weight (optional).
// Also ItemToItem: cosine co-occurrence over the same sessions, scored from the session's last item (the
// "customers who bought X also bought" baseline) or from every item (sum).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_SESSION_KNN_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_SESSION_KNN_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

// A session: item indexes in time order, with the session's time (its last event, seconds).
struct SessionSequence {
  std::vector<int32_t> items;
  int64_t time = 0;
  int hour = -1;  // hour of day (UTC) of the session, -1: unknown
};

struct SessionKnnOptions {
  int neighbors = 100;
  int sample = 1000;
  float idf_weight = 0;  // 0: no idf
  bool position_decay = true;
  float hour_boost = 0;  // extra similarity for past sessions at the same part of day (context)
};

class SessionKnn {
 public:
  explicit SessionKnn(SessionKnnOptions options = {}) : options_(options) {}
  void Fit(const std::vector<SessionSequence>& sessions, int32_t num_items);
  // Scores every item for the session `items` (time order); out.size() == num_items. hour: -1 unknown.
  void Score(absl::Span<const int32_t> items, int hour, absl::Span<float> out) const;
  int32_t num_items() const { return num_items_; }

 private:
  SessionKnnOptions options_;
  int32_t num_items_ = 0;
  std::vector<SessionSequence> sessions_;            // sorted by time, items distinct
  std::vector<std::vector<int32_t>> item_sessions_;  // per item, session indexes (ascending = older first)
  std::vector<float> idf_;
};

class ItemToItem {
 public:
  explicit ItemToItem(bool last_item_only = true) : last_item_only_(last_item_only) {}
  void Fit(const std::vector<SessionSequence>& sessions, int32_t num_items);
  void Score(absl::Span<const int32_t> items, absl::Span<float> out) const;

 private:
  bool last_item_only_;
  std::vector<std::vector<std::pair<int32_t, float>>> neighbors_;  // per item, cosine > 0
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_SESSION_KNN_H_
