// Item-based collaborative filtering: items are similar when the same users interacted with them.
// Similarity is the cosine between items' user vectors, either raw (binary or weighted) or BM25-weighted
// (Okapi BM25 with users as terms: a user who touched thousands of items says less about each of them, and
// an item with many users is length-normalised), with an optional shrinkage term that damps similarities
// resting on few common users:
//   sim(i, j) = v_i . v_j / (|v_i| |v_j| + shrink).
// Only the top-k neighbours per item are kept; a user's score is the sum of neighbour similarities over
// their history. Users with more than max_user_items items are skipped while computing similarities (their
// pairs cost O(n^2) and say little), but are scored normally.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_ITEM_KNN_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_ITEM_KNN_H_

#include "services/recommender/algo/model.h"
#include "services/recommender/algo/neighbors.h"

namespace marketlens::recommender {

struct ItemKnnOptions {
  int neighbors = 100;
  float shrink = 0;
  bool bm25 = false;
  float bm25_k1 = 1.2f;
  float bm25_b = 0.75f;
  bool binary = true;  // without bm25: 1 per interaction instead of its weight
  int max_user_items = 2000;
  int threads = 0;
};

class ItemKnnModel : public Model {
 public:
  explicit ItemKnnModel(ItemKnnOptions options = {}) : options_(options) {}
  std::string name() const override { return options_.bm25 ? "item_knn_bm25" : "item_knn"; }
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return neighbors_.rows; }

  const NeighborLists& neighbors() const { return neighbors_; }
  void SetNeighbors(NeighborLists n) { neighbors_ = std::move(n); }

 private:
  ItemKnnOptions options_;
  NeighborLists neighbors_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_ITEM_KNN_H_
