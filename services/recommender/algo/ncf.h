// Neural collaborative filtering (He et al. 2017, "NeuMF"): a user and an item are scored by
//   s(u, i) = w_g . (p_u * q_i)                       generalised matrix factorisation (GMF)
//           + w_m . relu(A p'_u + B q'_i + b)        a one-hidden-layer MLP over both embeddings
//           + b_i                                     item bias
// trained with BPR (Rendle et al. 2009: for a user, an item they have and a uniformly sampled one they do
// not, maximise log sigmoid(s(u, i) - s(u, j))) by SGD with explicit gradients in Eigen (see README: why not
// libtorch). Scoring all items for a user precomputes B q'_i per item at Fit, so it costs items x hidden.
// A user unknown at training time is scored with the mean embedding of the training users who share their
// history items (weighted by the history), a cheap fold-in.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_NCF_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_NCF_H_

#include <cstdint>
#include <eigen3/Eigen/Dense>

#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

struct NcfOptions {
  int factors = 32;  // GMF and MLP embedding size
  int hidden = 32;   // MLP hidden units
  float learning_rate = 0.05f;
  float regularization = 1e-4f;
  int epochs = 20;  // an epoch draws as many (user, positive, negative) triples as training pairs
  uint64_t seed = 13;
};

class NcfModel : public Model {
 public:
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  explicit NcfModel(NcfOptions options = {}) : options_(options) {}
  std::string name() const override { return "ncf"; }
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return static_cast<int32_t>(q_.rows()); }
  const std::vector<double>& epoch_seconds() const { return epoch_seconds_; }
  const std::vector<double>& epoch_losses() const { return epoch_losses_; }

 private:
  void ScoreUser(const Eigen::VectorXf& p, const Eigen::VectorXf& pm, absl::Span<float> out) const;

  NcfOptions options_;
  Matrix p_, q_, pm_, qm_;  // users / items, GMF and MLP embeddings
  Matrix a_, b_;            // hidden x factors
  Eigen::VectorXf bias_h_, w_g_, w_m_, item_bias_;
  Matrix item_hidden_;    // items x hidden: B q'_i + b, precomputed
  CsrMatrix item_users_;  // for the fold-in of unknown users
  std::vector<double> epoch_seconds_, epoch_losses_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_NCF_H_
