// A two-tower retrieval model (Yi et al. 2019; LightFM-style linear towers): the score of a user and an item
// is the dot product of two vectors, each the sum of its features' embeddings.
//   item tower: v_i = e_id(i) + mean of e(token) over the title/description words + e(category)
//               + e(key=value) per attribute (price bucket, country, format, ...)
//   user tower: u = e_user(u) + mean of v_h over the user's history h (so a shopper unknown at training time,
//               or an anonymous session, gets a vector from the items they touched)
// Trained with BPR over uniformly sampled negatives, by SGD with explicit gradients (Eigen). The item-id
// embedding is dropped at random during training (id_dropout) so that the content features alone must rank
// well: EmbedItem() embeds an item that did not exist at training time from its content (cold start), and
// item_vectors() go into the MIPS/HNSW index (ann.h) like ALS factors.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_TWO_TOWER_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_TWO_TOWER_H_

#include <cstdint>
#include <eigen3/Eigen/Dense>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

struct TwoTowerOptions {
  int factors = 32;
  float learning_rate = 0.05f;
  float regularization = 1e-4f;
  int epochs = 20;
  float id_dropout = 0.3f;  // probability of leaving the item-id embedding out of a training step
  int history_cap = 50;     // history items averaged into the user tower (most recent first)
  uint64_t seed = 17;
};

class TwoTowerModel : public Model {
 public:
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  explicit TwoTowerModel(TwoTowerOptions options = {}) : options_(options) {}
  std::string name() const override { return "two_tower"; }
  Params params() const override;
  // Content comes from data.item_info (items without it use their id embedding only).
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return static_cast<int32_t>(item_vectors_.rows()); }

  // The item tower on content alone (no id embedding): for an item that is not in the model.
  Eigen::VectorXf EmbedItem(const ItemInfo& info) const;
  // The user tower for a history (and a known user's own embedding when user >= 0).
  Eigen::VectorXf EmbedUser(int32_t user, const UserHistory& history) const;
  // Items x factors, the full item tower per training item (for the MIPS index).
  const Matrix& item_vectors() const { return item_vectors_; }
  const std::vector<double>& epoch_seconds() const { return epoch_seconds_; }

 private:
  // Feature ids of an item's content (vocabulary built at Fit; unknown words are ignored).
  struct ItemFeatures {
    std::vector<int32_t> tokens;  // into token_
    std::vector<int32_t> fields;  // into field_ (category, attributes)
  };
  ItemFeatures FeaturesOf(const ItemInfo& info, bool grow);
  ItemFeatures FeaturesOf(const ItemInfo& info) const;
  Eigen::VectorXf ContentVector(const ItemFeatures& f) const;

  TwoTowerOptions options_;
  absl::flat_hash_map<std::string, int32_t> token_ids_, field_ids_;
  std::vector<ItemFeatures> item_features_;
  Matrix user_, item_id_, token_, field_;
  Matrix item_vectors_;
  std::vector<std::vector<int32_t>> histories_;  // per training user (capped)
  std::vector<double> epoch_seconds_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_TWO_TOWER_H_
