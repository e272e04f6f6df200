// EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): an item x item weight matrix B with a zero
// diagonal, in closed form from the Gram matrix G = X^T X + lambda I of the binary interaction matrix:
//   P = G^-1,  B_ij = -P_ij / P_jj  (i != j),  scores = x_u B.
// It is often the strongest simple baseline, but needs an items x items dense inverse (O(n^3) time,
// O(n^2) memory), so Fit refuses catalogues above max_items (FAILED_PRECONDITION) and the evaluator
// skips it there.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_EASE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_EASE_H_

#include <eigen3/Eigen/Dense>

#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

struct EaseOptions {
  float lambda = 200;
  int max_items = 4000;
  int threads = 0;
};

class EaseModel : public Model {
 public:
  explicit EaseModel(EaseOptions options = {}) : options_(options) {}
  std::string name() const override { return "ease"; }
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return static_cast<int32_t>(weights_.rows()); }
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& weights() const {
    return weights_;
  }

 private:
  EaseOptions options_;
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> weights_;  // B
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_EASE_H_
