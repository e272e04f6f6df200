#include "services/recommender/algo/als.h"

#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/recommender/algo/add_scaled.h"
#include "services/recommender/algo/als_kernels.h"
#include "services/recommender/algo/parallel.h"
#include "services/recommender/algo/score_kernels.h"

namespace marketlens::recommender {

Params AlsModel::params() const {
  return {{"factors", absl::StrCat(options_.factors)},
          {"regularization", absl::StrCat(options_.regularization)},
          {"alpha", absl::StrCat(options_.alpha)},
          {"iterations", absl::StrCat(options_.iterations)},
          {"cg_steps", absl::StrCat(options_.cg_steps)}};
}

void AlsModel::SolveSide(const CsrMatrix& interactions, const Matrix& fixed, Matrix& solve) const {
  const int k = options_.factors;
  const bool avx2 = options_.avx2_kernels;
  // A = YtY + reg I (the part shared by every row). Over blocks of rows fixed in size, on all threads, summed
  // in block order: the same result on any number of threads, and shorter float sums than one pass over
  // 500k rows.
  constexpr int64_t kGramianBlockRows = 4096;
  const int64_t gramian_blocks = (fixed.rows() + kGramianBlockRows - 1) / kGramianBlockRows;
  std::vector<Eigen::MatrixXf> partial(gramian_blocks, Eigen::MatrixXf::Zero(k, k));
  ParallelFor(gramian_blocks, options_.threads, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t first = b * kGramianBlockRows;
      AlsGramianAdd(fixed.data() + first * k, std::min<int64_t>(kGramianBlockRows, fixed.rows() - first), k,
                    partial[b].data(), avx2);
    }
  });
  Eigen::MatrixXf yty = Eigen::MatrixXf::Zero(k, k);
  for (const Eigen::MatrixXf& p : partial) yty += p;
  yty.diagonal().array() += options_.regularization;
  const float alpha = options_.alpha;
  const int cg_steps = options_.cg_steps;
  // Rows longer than this are solved by the per-interaction loop (bounded gather buffers per thread).
  constexpr size_t kMaxGatherRows = 16384;
  constexpr Eigen::Index kPrefetchAhead = 8;
  const bool gather = options_.gather_rows;
  ParallelFor(interactions.rows, options_.threads, 64, [&](int64_t begin, int64_t end, int) {
    Vector x(k), r(k), p(k), ap(k);
    std::vector<float> block_buffer, conf_buffer, work_buffer;
    for (int64_t row = begin; row < end; ++row) {
      auto items = interactions.RowIndices(static_cast<int32_t>(row));
      auto weights = interactions.RowValues(static_cast<int32_t>(row));
      if (items.empty()) {
        solve.row(row).setZero();
        continue;
      }
      x = solve.row(row).transpose();
      if (gather && items.size() <= kMaxGatherRows) {
        const Eigen::Index n = static_cast<Eigen::Index>(items.size());
        if (block_buffer.size() < static_cast<size_t>(n) * k) block_buffer.resize(static_cast<size_t>(n) * k);
        if (conf_buffer.size() < static_cast<size_t>(n)) conf_buffer.resize(n);
        Eigen::Map<Matrix> block(block_buffer.data(), n, k);  // the row's fixed vectors, one per line
        Eigen::Map<Vector> conf(conf_buffer.data(), n);       // c - 1 = alpha * weight
        for (Eigen::Index m = 0; m < n; ++m) {
          // The rows are scattered over a matrix larger than the cache (500k users x 64 floats = 128 MB):
          // ask for a later one while this one is copied.
          if (m + kPrefetchAhead < n) __builtin_prefetch(fixed.row(items[m + kPrefetchAhead]).data());
          block.row(m) = fixed.row(items[m]);
          conf[m] = alpha * weights[m];
        }
        // The CG steps on the gathered block: AVX2 + FMA when the CPU has them (als_kernels.h).
        if (work_buffer.size() < static_cast<size_t>(AlsCgWorkSize(k, static_cast<int>(n)))) {
          work_buffer.resize(AlsCgWorkSize(k, static_cast<int>(n)));
        }
        AlsCgSolveRow({.gramian = yty.data(),
                       .block = block_buffer.data(),
                       .conf = conf_buffer.data(),
                       .k = k,
                       .n = static_cast<int>(n),
                       .cg_steps = cg_steps},
                      x.data(), work_buffer.data(), avx2);
        solve.row(row) = x.transpose();
        continue;
      }
      // r = b - A x, with b = sum_i c_i y_i and A = YtY + reg I + sum_i (c_i - 1) y_i y_i^T.
      r.noalias() = -(yty * x);
      for (size_t n = 0; n < items.size(); ++n) {
        const auto y = fixed.row(items[n]);
        const float c = 1.0f + alpha * weights[n];
        r.noalias() += (c - (c - 1.0f) * y.dot(x)) * y.transpose();
      }
      p = r;
      float rs_old = r.squaredNorm();
      if (rs_old < 1e-20f) continue;
      for (int step = 0; step < cg_steps; ++step) {
        ap.noalias() = yty * p;
        for (size_t n = 0; n < items.size(); ++n) {
          const auto y = fixed.row(items[n]);
          const float c = 1.0f + alpha * weights[n];
          ap.noalias() += ((c - 1.0f) * y.dot(p)) * y.transpose();
        }
        const float pap = p.dot(ap);
        if (pap <= 0) break;
        const float step_size = rs_old / pap;
        x.noalias() += step_size * p;
        r.noalias() -= step_size * ap;
        const float rs_new = r.squaredNorm();
        if (rs_new < 1e-20f) break;
        p = r + (rs_new / rs_old) * p;
        rs_old = rs_new;
      }
      solve.row(row) = x.transpose();
    }
  });
}

absl::Status AlsModel::Fit(const TrainingData& data) {
  if (options_.factors < 1 || options_.factors > 1024) {
    return absl::InvalidArgumentError(absl::StrCat("als: factors must be 1..1024, got ", options_.factors));
  }
  if (options_.regularization < 0 || options_.alpha < 0 || options_.iterations < 0 || options_.cg_steps < 1) {
    return absl::InvalidArgumentError(
        "als: regularization and alpha must be >= 0, iterations >= 0, cg_steps >= 1");
  }
  const int k = options_.factors;
  std::mt19937_64 rng(options_.seed);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  user_factors_ = Matrix(data.num_users(), k);
  item_factors_ = Matrix(data.num_items(), k);
  for (int64_t i = 0; i < user_factors_.size(); ++i) user_factors_.data()[i] = normal(rng);
  for (int64_t i = 0; i < item_factors_.size(); ++i) item_factors_.data()[i] = normal(rng);
  losses_.clear();
  iteration_seconds_.clear();
  for (int it = 0; it < options_.iterations; ++it) {
    const absl::Time start = absl::Now();
    SolveSide(data.user_items, item_factors_, user_factors_);
    SolveSide(data.item_users, user_factors_, item_factors_);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    iteration_seconds_.push_back(seconds);
    if (options_.track_loss) losses_.push_back(Loss(data));
    if (options_.on_iteration) options_.on_iteration(it, seconds);
  }
  ComputeGramian();
  return absl::OkStatus();
}

void AlsModel::SetFactors(Matrix users, Matrix items) {
  user_factors_ = std::move(users);
  item_factors_ = std::move(items);
  options_.factors = static_cast<int>(item_factors_.cols());
  ComputeGramian();
}

void AlsModel::ComputeGramian() {
  item_gramian_ = item_factors_.transpose() * item_factors_;
  item_gramian_.diagonal().array() += options_.regularization;
}

AlsModel::Vector AlsModel::FoldIn(const UserHistory& history) const {
  const int k = static_cast<int>(item_factors_.cols());
  if (options_.mean_fold_in) {
    Vector mean = Vector::Zero(k);
    int n = 0;
    for (int32_t i : history.items) {
      if (i < 0 || i >= item_factors_.rows()) continue;
      mean += item_factors_.row(i).transpose();
      ++n;
    }
    return n > 0 ? Vector(mean / static_cast<float>(n)) : mean;
  }
  // Per-thread system and factorisation: a serving fold-in per call would otherwise allocate both (the
  // same arithmetic either way; they are overwritten in full before use).
  thread_local Eigen::MatrixXf a;
  thread_local Eigen::LDLT<Eigen::MatrixXf> ldlt;
  thread_local std::vector<float> scaled;
  a = item_gramian_;
  scaled.resize(k);
  Vector b = Vector::Zero(k);
  for (size_t n = 0; n < history.items.size(); ++n) {
    const int32_t i = history.items[n];
    if (i < 0 || i >= item_factors_.rows()) continue;
    const auto y = item_factors_.row(i);
    const float c = 1.0f + options_.alpha * history.weights[n];
    // a += (c - 1) y^T y on the lower triangle only: LDLT (Lower) reads nothing else. Per element the
    // same two roundings as Eigen's outer product (((c - 1) * y_r) * y_col, then the sum).
    const float* yp = y.data();
    for (int r = 0; r < k; ++r) scaled[r] = (c - 1.0f) * yp[r];
    for (int col = 0; col < k; ++col) {
      AddScaled(a.col(col).data() + col, scaled.data() + col, yp[col], k - col);
    }
    b.noalias() += c * y.transpose();
  }
  if (history.items.empty()) return b;
  ldlt.compute(a);
  return ldlt.solve(b);
}

void AlsModel::ScoreVector(const Vector& x, absl::Span<float> out) const {
  // The scoring kernel (score_kernels.h: AVX2 or SSE2 by the CPU, the same bits either way).
  ScoreDotRows(item_factors_.data(), item_factors_.rows(), static_cast<int>(item_factors_.cols()), x.data(),
               out.data());
}

void AlsModel::Score(int32_t user, const UserHistory& history, absl::Span<float> out) const {
  if (user >= 0 && user < user_factors_.rows()) {
    ScoreVector(user_factors_.row(user).transpose(), out);
    return;
  }
  ScoreVector(FoldIn(history), out);
}

double AlsModel::Loss(const TrainingData& data) const {
  // sum over all cells of (x.y)^2 = sum_u x_u^T (YtY) x_u; observed cells corrected to c (1 - s)^2.
  const Eigen::MatrixXf yty = item_factors_.transpose() * item_factors_;
  double loss = 0;
  for (int32_t u = 0; u < data.num_users(); ++u) {
    const Vector x = user_factors_.row(u).transpose();
    loss += x.dot(yty * x);
    auto items = data.user_items.RowIndices(u);
    auto weights = data.user_items.RowValues(u);
    for (size_t n = 0; n < items.size(); ++n) {
      const double s = item_factors_.row(items[n]).dot(x);
      const double c = 1.0 + options_.alpha * weights[n];
      loss += c * (1 - s) * (1 - s) - s * s;
    }
  }
  loss += options_.regularization * (user_factors_.squaredNorm() + item_factors_.squaredNorm());
  return loss / std::max<int64_t>(1, data.user_items.nnz());
}

}  // namespace marketlens::recommender
