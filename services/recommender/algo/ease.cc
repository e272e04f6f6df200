#include "services/recommender/algo/ease.h"

#include "absl/strings/str_cat.h"
#include "services/recommender/algo/parallel.h"

namespace marketlens::recommender {

Params EaseModel::params() const { return {{"lambda", absl::StrCat(options_.lambda)}}; }

absl::Status EaseModel::Fit(const TrainingData& data) {
  const int32_t n = data.num_items();
  if (n > options_.max_items) {
    return absl::FailedPreconditionError(absl::StrCat("ease: ", n, " items is above max_items ",
                                                      options_.max_items, " (needs an n x n dense inverse)"));
  }
  if (options_.lambda <= 0) return absl::InvalidArgumentError("ease: lambda must be > 0");
  // G = X^T X (binary X), row by row in parallel: row i = sum over i's users of their item rows.
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
  const CsrMatrix& ui = data.user_items;
  const CsrMatrix& iu = data.item_users;
  ParallelFor(n, options_.threads, 32, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      for (int32_t u : iu.RowIndices(static_cast<int32_t>(i))) {
        for (int32_t j : ui.RowIndices(u)) g(j, i) += 1.0;  // column i (column-major: contiguous writes)
      }
    }
  });
  g.diagonal().array() += options_.lambda;
  const Eigen::MatrixXd p = g.llt().solve(Eigen::MatrixXd::Identity(n, n));
  weights_.resize(n, n);
  for (int32_t j = 0; j < n; ++j) {
    const double pjj = p(j, j);
    for (int32_t i = 0; i < n; ++i) weights_(i, j) = i == j ? 0.0f : static_cast<float>(-p(i, j) / pjj);
  }
  return absl::OkStatus();
}

void EaseModel::Score(int32_t, const UserHistory& history, absl::Span<float> out) const {
  Eigen::Map<Eigen::RowVectorXf> scores(out.data(), static_cast<Eigen::Index>(out.size()));
  scores.setZero();
  for (int32_t j : history.items) {
    if (j >= 0 && j < weights_.rows()) scores += weights_.row(j);
  }
}

}  // namespace marketlens::recommender
