// Implicit-feedback ALS (Hu, Koren & Volinsky 2008): every (user, item) cell is a preference p = 1 if the
// user interacted, else 0, with confidence c = 1 + alpha * weight; user and item factors minimise
//   sum_ui c_ui (p_ui - x_u . y_i)^2 + reg * (|X|^2 + |Y|^2).
// Each half-iteration fixes one side and solves every row of the other with a few steps of the conjugate
// gradient method (Takacs, Pilaszy & Tikk 2011), warm-started from the previous factors: O(nnz * k) per
// step instead of the O(k^3) per row of an exact solve. Rows are solved on `threads` threads. YtY + reg I is
// computed once per half-iteration (in blocks of rows on all threads); each row's fixed-side vectors are
// gathered into a contiguous block once (gather_rows), so its cg_steps + 1 passes are cache-resident
// matrix-vector products. The Gramian and the CG steps run on AVX2 + FMA kernels where the CPU has them,
// chosen at run time (als_kernels.h).
//
// Fold-in: a user unknown at training time, or a known user with new feedback, gets an exact least-squares
// vector from their history against the fixed item factors (a k x k solve, ~20 us for k = 64), so feedback
// changes the next answer without retraining.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_ALS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_ALS_H_

#include <cstdint>
#include <eigen3/Eigen/Dense>
#include <functional>
#include <vector>

#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

struct AlsOptions {
  int factors = 32;
  float regularization = 0.1f;
  float alpha = 4.0f;  // confidence = 1 + alpha * weight
  int iterations = 15;
  int cg_steps = 3;
  int threads = 0;  // 0: one per core
  uint64_t seed = 7;
  // Called after every iteration with (iteration, seconds it took); for benchmarks and progress logs.
  std::function<void(int, double)> on_iteration;
  // Computes the loss after every iteration (costs about one extra half-iteration); see losses().
  bool track_loss = false;
  // Serving factors of another dot-product model (two_tower.h): FoldIn is then the mean of the history's
  // item vectors (that model's user tower without a user embedding), not a least-squares solve.
  bool mean_fold_in = false;
  // Copies a row's fixed-side vectors into one contiguous block before its CG steps, so the residual and
  // every step read them from cache as two matrix-vector products (one pass of random reads per row instead
  // of cg_steps + 1). false: the per-interaction loop (the benchmark's baseline; same arithmetic).
  bool gather_rows = true;
  // Run the Gramian and (with gather_rows) the CG steps with the AVX2 + FMA kernels when the CPU has both
  // (run-time dispatch, als_kernels.h; the environment variable MARKETLENS_ALS_PORTABLE_KERNELS=1 also
  // turns them off). false: the portable Eigen kernels (baseline x86-64), e.g. to compare the two in the
  // benchmark.
  bool avx2_kernels = true;
};

class AlsModel : public Model {
 public:
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vector = Eigen::VectorXf;

  explicit AlsModel(AlsOptions options = {}) : options_(std::move(options)) {}

  std::string name() const override { return "als"; }
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  // Known users (user >= 0) use their trained vector; others are folded in from `history`.
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return static_cast<int32_t>(item_factors_.rows()); }

  // The least-squares user vector for `history` against the fixed item factors.
  Vector FoldIn(const UserHistory& history) const;
  // scores = Y * x.
  void ScoreVector(const Vector& x, absl::Span<float> out) const;

  const Matrix& user_factors() const { return user_factors_; }
  const Matrix& item_factors() const { return item_factors_; }
  const AlsOptions& options() const { return options_; }
  // Loss after each iteration (only with track_loss).
  const std::vector<double>& losses() const { return losses_; }
  // Seconds per iteration.
  const std::vector<double>& iteration_seconds() const { return iteration_seconds_; }

  // For loading a trained model (artifact.h): factors and the hyper-parameters they were trained with.
  void SetFactors(Matrix users, Matrix items);

  // The full objective on `data` (exposed for tests).
  double Loss(const TrainingData& data) const;

 private:
  void SolveSide(const CsrMatrix& interactions, const Matrix& fixed, Matrix& solve) const;
  void ComputeGramian();

  AlsOptions options_;
  Matrix user_factors_;
  Matrix item_factors_;
  Eigen::MatrixXf item_gramian_;  // YtY + reg * I, for fold-in
  std::vector<double> losses_;
  std::vector<double> iteration_seconds_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_ALS_H_
