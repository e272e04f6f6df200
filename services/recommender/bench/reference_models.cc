#include "services/recommender/bench/reference_models.h"

#include <random>

#include "absl/strings/str_cat.h"

namespace marketlens::recommender {

Params ReferenceEase::params() const { return {{"lambda", absl::StrCat(lambda_)}}; }

absl::Status ReferenceEase::Fit(const TrainingData& data) {
  const int n = data.num_items();
  if (n > 6000)
    return absl::FailedPreconditionError("reference_ease: catalogue too large for a dense inverse");
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(data.num_users(), n);
  for (int32_t u = 0; u < data.num_users(); ++u) {
    for (int32_t i : data.user_items.RowIndices(u)) x(u, i) = 1.0;
  }
  Eigen::MatrixXd g = x.transpose() * x;
  g.diagonal().array() += lambda_;
  const Eigen::MatrixXd p = g.inverse();
  b_ = Eigen::MatrixXd(n, n);
  for (int j = 0; j < n; ++j) b_.col(j) = -p.col(j) / p(j, j);
  b_.diagonal().setZero();
  return absl::OkStatus();
}

void ReferenceEase::Score(int32_t, const UserHistory& history, absl::Span<float> out) const {
  Eigen::RowVectorXd x = Eigen::RowVectorXd::Zero(b_.rows());
  for (int32_t i : history.items) x(i) = 1.0;
  const Eigen::RowVectorXd s = x * b_;
  for (int i = 0; i < s.size(); ++i) out[i] = static_cast<float>(s(i));
}

Params ReferenceIals::params() const {
  return {{"factors", absl::StrCat(factors_)},
          {"regularization", absl::StrCat(reg_)},
          {"alpha", absl::StrCat(alpha_)},
          {"iterations", absl::StrCat(iterations_)}};
}

namespace {

// Solves every row of `solve` exactly against the fixed factors (HKV eq. 4).
void SolveExact(const CsrMatrix& r, const Eigen::MatrixXd& fixed, double reg, double alpha,
                Eigen::MatrixXd& solve) {
  const int k = static_cast<int>(fixed.cols());
  const Eigen::MatrixXd yty = fixed.transpose() * fixed;
  for (int32_t row = 0; row < r.rows; ++row) {
    Eigen::MatrixXd a = yty;
    a.diagonal().array() += reg;
    Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
    for (int32_t i : r.RowIndices(row)) {
      const Eigen::VectorXd y = fixed.row(i).transpose();
      a += alpha * y * y.transpose();  // (c - 1) y y^T with c = 1 + alpha
      b += (1.0 + alpha) * y;          // c * p * y with p = 1
    }
    solve.row(row) = a.llt().solve(b).transpose();
  }
}

}  // namespace

absl::Status ReferenceIals::Fit(const TrainingData& data) {
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0, 0.01);
  x_ = Eigen::MatrixXd(data.num_users(), factors_);
  y_ = Eigen::MatrixXd(data.num_items(), factors_);
  for (int64_t i = 0; i < x_.size(); ++i) x_.data()[i] = normal(rng);
  for (int64_t i = 0; i < y_.size(); ++i) y_.data()[i] = normal(rng);
  for (int it = 0; it < iterations_; ++it) {
    SolveExact(data.user_items, y_, reg_, alpha_, x_);
    SolveExact(data.item_users, x_, reg_, alpha_, y_);
  }
  return absl::OkStatus();
}

void ReferenceIals::Score(int32_t user, const UserHistory&, absl::Span<float> out) const {
  if (user < 0 || user >= x_.rows()) {
    for (float& v : out) v = 0;
    return;
  }
  const Eigen::VectorXd s = y_ * x_.row(user).transpose();
  for (int i = 0; i < s.size(); ++i) out[i] = static_cast<float>(s(i));
}

absl::Status ReferencePopularity::Fit(const TrainingData& data) {
  counts_.assign(data.num_items(), 0);
  for (int32_t u = 0; u < data.num_users(); ++u) {
    for (int32_t i : data.user_items.RowIndices(u)) counts_[i] += 1;
  }
  return absl::OkStatus();
}

void ReferencePopularity::Score(int32_t, const UserHistory&, absl::Span<float> out) const {
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i];
}

}  // namespace marketlens::recommender
