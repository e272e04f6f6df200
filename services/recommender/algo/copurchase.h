// "Frequently bought together": items that appear in the same basket more often than chance. A basket is
// a session (when the data has sessions), else a user's day, else a user's whole history; by default only
// purchases count (all positive events when the data has no purchases, e.g. MovieLens).
//   lift(i, j) = c_ij * N / (c_i * c_j)   (N baskets, c_i baskets with i, c_ij baskets with both)
// Lift alone favours rare pairs seen once or twice, so pairs need min_support baskets and the score is
// shrunk towards 0 for small counts: score = lift * c_ij / (c_ij + shrink).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_COPURCHASE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_COPURCHASE_H_

#include "services/recommender/algo/model.h"
#include "services/recommender/algo/neighbors.h"

namespace marketlens::recommender {

enum class BasketBy { kAuto, kSession, kUserDay, kUser };

struct CoPurchaseOptions {
  BasketBy basket = BasketBy::kAuto;
  bool purchases_only = true;
  int min_support = 2;
  float shrink = 5;
  int neighbors = 50;
  int max_basket = 200;  // larger baskets are skipped (O(n^2) pairs, little signal)
  int threads = 0;
};

class CoPurchaseModel : public Model {
 public:
  explicit CoPurchaseModel(CoPurchaseOptions options = {}) : options_(options) {}
  std::string name() const override { return "copurchase"; }
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return neighbors_.rows; }

  const NeighborLists& neighbors() const { return neighbors_; }
  void SetNeighbors(NeighborLists n) { neighbors_ = std::move(n); }
  // What Fit used (after resolving kAuto), and how many baskets it counted.
  BasketBy basket_used() const { return basket_used_; }
  int64_t baskets() const { return baskets_; }

 private:
  CoPurchaseOptions options_;
  NeighborLists neighbors_;
  BasketBy basket_used_ = BasketBy::kAuto;
  int64_t baskets_ = 0;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_COPURCHASE_H_
