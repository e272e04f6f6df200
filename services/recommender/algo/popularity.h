// Popularity: the baseline every other model must beat, and the answer for shoppers we know nothing about.
// An item's popularity is the number of distinct users with a positive event on it, optionally only within
// the last `window_seconds` of the data (recent bestsellers). With by_category, a user's scores favour the
// categories of their history: score = share of the user's weight in the item's category x popularity
// (plus a small global term so that every item is ranked).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_POPULARITY_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_POPULARITY_H_

#include <string>
#include <vector>

#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

struct PopularityOptions {
  int64_t window_seconds = 0;  // 0: all of the data
  bool by_category = false;
};

class PopularityModel : public Model {
 public:
  explicit PopularityModel(PopularityOptions options = {}) : options_(options) {}
  std::string name() const override;
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return static_cast<int32_t>(counts_.size()); }

  // Distinct users per item (in the window).
  const std::vector<float>& counts() const { return counts_; }

 private:
  PopularityOptions options_;
  std::vector<float> counts_;
  std::vector<float> normalized_;
  std::vector<int32_t> category_;  // category index per item, -1 unknown
  int32_t categories_ = 0;
};

// Distinct users with a positive event per item, among events with timestamp in [from, to]. Exposed for
// the serving side's per-context tables.
std::vector<float> CountDistinctUsers(const TrainingData& data, int64_t from, int64_t to);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_POPULARITY_H_
