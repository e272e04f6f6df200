// Neural collaborative filtering (He et al. 2017, "NeuMF"): a user and an item are scored by
//   s(u, i) = w_g . (p_u * q_i)                       generalised matrix factorisation (GMF)
//           + w_m . relu(A p'_u + B q'_i + b)        a one-hidden-layer MLP over both embeddings
//           + b_i                                     item bias
// trained with BPR (Rendle et al. 2009: for a user, an item they have and a uniformly sampled one they do
// not, maximise log sigmoid(s(u, i) - s(u, j))) by SGD with explicit gradients in Eigen (see README: why not
// libtorch). Scoring all items for a user precomputes B q'_i per item at Fit, so it costs items x hidden.
// A user unknown at training time (or one with fresh feedback, when served) is scored with the mean
// embedding of the training users who share their history items (weighted by the history; at most
// kNcfFoldInUsersPerItem users per item), a cheap fold-in.
//
// NcfScorer is the scoring half, shared by NcfModel and the serving path (the bundle stores its parts):
// the GMF weights are folded into the user vector (w_g * p_u) and the user's part of the hidden layer
// (A p'_u) is precomputed, so a user costs items x (factors + hidden) and no matrix product per request.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_NCF_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_NCF_H_

#include <cstdint>
#include <eigen3/Eigen/Dense>

#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

inline constexpr int kNcfFoldInUsersPerItem = 256;

class NcfScorer {
 public:
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  struct Parts {
    Matrix user_gmf;            // users x factors: w_g * p_u
    Matrix user_hidden;         // users x hidden: A p'_u
    Matrix item_gmf;            // items x factors: q_i
    Matrix item_hidden;         // items x hidden: B q'_i + b
    Eigen::VectorXf w_mlp;      // hidden
    Eigen::VectorXf item_bias;  // items
  };
  NcfScorer() = default;
  // `item_users` (items x users) is for the fold-in; the parts' sizes must agree (Check()).
  NcfScorer(Parts parts, CsrMatrix item_users);
  absl::Status Check() const;

  const Parts& parts() const { return parts_; }
  int32_t num_users() const { return static_cast<int32_t>(parts_.user_gmf.rows()); }
  int32_t num_items() const { return static_cast<int32_t>(parts_.item_gmf.rows()); }
  // A trained user's scores.
  void ScoreUser(int32_t user, absl::Span<float> out) const;
  // Anyone, from a history: the mean of the vectors of the training users sharing its items.
  void ScoreHistory(const UserHistory& history, absl::Span<float> out) const;

 private:
  void ScoreVectors(const Eigen::Ref<const Eigen::VectorXf>& gmf,
                    const Eigen::Ref<const Eigen::VectorXf>& hidden, absl::Span<float> out) const;
  Parts parts_;
  CsrMatrix item_users_;
  // Per item, the sums of the user vectors its fold-in reads (its first kNcfFoldInUsersPerItem users) and
  // their count: a history's fold-in is then one weighted row per history item instead of up to 256
  // (the same sums, added in another order). Empty when the parts' sizes do not agree (Check()).
  Matrix item_user_gmf_sum_, item_user_hidden_sum_;
  Eigen::VectorXf item_user_count_;
};

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
  int32_t num_items() const override { return scorer_.num_items(); }
  const NcfScorer& scorer() const { return scorer_; }
  const std::vector<double>& epoch_seconds() const { return epoch_seconds_; }
  const std::vector<double>& epoch_losses() const { return epoch_losses_; }

 private:
  NcfOptions options_;
  Matrix p_, q_, pm_, qm_;  // users / items, GMF and MLP embeddings
  Matrix a_, b_;            // hidden x factors
  Eigen::VectorXf bias_h_, w_g_, w_m_, item_bias_;
  NcfScorer scorer_;  // built at the end of Fit
  std::vector<double> epoch_seconds_, epoch_losses_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_NCF_H_
