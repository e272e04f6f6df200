// The interface every recommendation algorithm implements, and the helpers they share (top-N selection,
// a user's history as spans, score normalisation).
//
// A Model is fitted once on TrainingData and then only read: Score() is const and thread-safe, so the
// evaluator and the serving path can call it from many threads. Score() takes the user's history
// explicitly, so the same model scores a user known at training time (user >= 0, history = their row) and
// someone it never saw (user = -1, history = the items of their session or their fresh feedback).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_MODEL_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_MODEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "services/recommender/data/dataset.h"

namespace marketlens::recommender {

// A user's positive interactions: item indexes (sorted, distinct) and their weights.
struct UserHistory {
  absl::Span<const int32_t> items;
  absl::Span<const float> weights;
  size_t size() const { return items.size(); }
};

// The training row of `user`.
inline UserHistory HistoryOf(const TrainingData& data, int32_t user) {
  return {data.user_items.RowIndices(user), data.user_items.RowValues(user)};
}

// Owns a history built at run time (session items, folded-in feedback).
struct OwnedHistory {
  std::vector<int32_t> items;
  std::vector<float> weights;
  UserHistory view() const { return {items, weights}; }
  // Adds weight to an item, keeping items sorted and distinct.
  void Add(int32_t item, float weight);
  void Remove(int32_t item);
};

struct ScoredItem {
  int32_t item = 0;
  float score = 0;
};

// Hyper-parameters as strings, for reports and the model registry.
using Params = std::map<std::string, std::string>;

class Model {
 public:
  virtual ~Model() = default;
  // "als", "item_knn", ... (stable: used in reports, JSON and the registry).
  virtual std::string name() const = 0;
  virtual Params params() const = 0;
  // Fits on `data`. The model keeps no reference to `data`.
  virtual absl::Status Fit(const TrainingData& data) = 0;
  // Writes one score per item into `out` (out.size() == number of items at Fit); higher is better.
  // Items the model knows nothing about get 0 or less.
  virtual void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const = 0;
  virtual int32_t num_items() const = 0;
};

// The best n items by score, best first (ties: lower index first), skipping the items in `exclude`
// (sorted) and those for which `keep` returns false. Items scored -inf are never returned.
std::vector<ScoredItem> TopN(absl::Span<const float> scores, int n, absl::Span<const int32_t> exclude = {},
                             const std::function<bool(int32_t)>& keep = nullptr);

// Divides by the largest absolute score (no-op when all are 0), so blended models speak the same scale.
void NormalizeMaxAbs(absl::Span<float> scores);

// Sets `out` to `value` everywhere.
inline void Fill(absl::Span<float> out, float value) {
  for (float& v : out) v = value;
}

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_MODEL_H_
