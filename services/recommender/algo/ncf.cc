#include "services/recommender/algo/ncf.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/recommender/algo/score_kernels.h"

namespace marketlens::recommender {
namespace {

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

Params NcfModel::params() const {
  return {{"factors", absl::StrCat(options_.factors)},
          {"hidden", absl::StrCat(options_.hidden)},
          {"learning_rate", absl::StrCat(options_.learning_rate)},
          {"regularization", absl::StrCat(options_.regularization)},
          {"epochs", absl::StrCat(options_.epochs)}};
}

absl::Status NcfModel::Fit(const TrainingData& data) {
  const int k = options_.factors, h = options_.hidden;
  if (k < 1 || k > 1024 || h < 1 || h > 1024)
    return absl::InvalidArgumentError("ncf: factors and hidden must be 1..1024");
  if (options_.learning_rate <= 0 || options_.regularization < 0 || options_.epochs < 0) {
    return absl::InvalidArgumentError("ncf: learning_rate must be > 0, regularization and epochs >= 0");
  }
  const int32_t nu = data.num_users(), ni = data.num_items();
  if (ni < 2) return absl::FailedPreconditionError("ncf: needs at least 2 items");
  std::mt19937_64 rng(options_.seed);
  std::normal_distribution<float> emb(0.0f, 0.1f), dense(0.0f, 1.0f / std::sqrt(static_cast<float>(k)));
  auto init = [&](Matrix& m, int rows, int cols, std::normal_distribution<float>& d) {
    m.resize(rows, cols);
    for (int64_t n = 0; n < m.size(); ++n) m.data()[n] = d(rng);
  };
  init(p_, nu, k, emb);
  init(q_, ni, k, emb);
  init(pm_, nu, k, emb);
  init(qm_, ni, k, emb);
  init(a_, h, k, dense);
  init(b_, h, k, dense);
  bias_h_ = Eigen::VectorXf::Zero(h);
  w_g_ = Eigen::VectorXf::Constant(k, 1.0f);
  w_m_ = Eigen::VectorXf::Constant(h, 1.0f / h);
  item_bias_ = Eigen::VectorXf::Zero(ni);

  // Training pairs (user, item) in CSR order, visited in a fresh random order every epoch.
  std::vector<std::pair<int32_t, int32_t>> pairs;
  pairs.reserve(data.user_items.nnz());
  for (int32_t u = 0; u < nu; ++u) {
    for (int32_t i : data.user_items.RowIndices(u)) pairs.push_back({u, i});
  }
  std::uniform_int_distribution<int32_t> any_item(0, ni - 1);
  const float lr = options_.learning_rate, reg = options_.regularization;
  Eigen::VectorXf zi(h), zj(h), di(h), dj(h), gp(k), gpm(k);
  epoch_seconds_.clear();
  epoch_losses_.clear();
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    const absl::Time start = absl::Now();
    std::shuffle(pairs.begin(), pairs.end(), rng);
    double loss = 0;
    for (const auto& [u, i] : pairs) {
      auto row = data.user_items.RowIndices(u);
      int32_t j = any_item(rng);
      for (int tries = 0; tries < 8 && std::binary_search(row.begin(), row.end(), j); ++tries)
        j = any_item(rng);
      auto pu = p_.row(u);
      auto pmu = pm_.row(u);
      // Forward.
      const Eigen::VectorXf au = a_ * pmu.transpose() + bias_h_;
      zi = au + b_ * qm_.row(i).transpose();
      zj = au + b_ * qm_.row(j).transpose();
      const Eigen::VectorXf ri = zi.cwiseMax(0.0f), rj = zj.cwiseMax(0.0f);
      const float si = w_g_.dot(pu.cwiseProduct(q_.row(i)).transpose()) + w_m_.dot(ri) + item_bias_[i];
      const float sj = w_g_.dot(pu.cwiseProduct(q_.row(j)).transpose()) + w_m_.dot(rj) + item_bias_[j];
      const float x = si - sj;
      loss += -std::log(std::max(1e-12f, Sigmoid(x)));
      const float g = Sigmoid(-x);  // d log sigmoid(x) / dx
      // Backward (gradient ascent on log sigmoid(s_i - s_j) minus L2).
      di = (w_m_.array() * (zi.array() > 0).cast<float>()).matrix();
      dj = (w_m_.array() * (zj.array() > 0).cast<float>()).matrix();
      const Eigen::VectorXf d_hidden = di - dj;  // d x / d z through the shared user part
      gp = (w_g_.array() * (q_.row(i) - q_.row(j)).transpose().array()).matrix();
      gpm = a_.transpose() * d_hidden;
      const Eigen::VectorXf gqi = (w_g_.array() * pu.transpose().array()).matrix();
      const Eigen::VectorXf gqmi = b_.transpose() * di, gqmj = b_.transpose() * dj;
      const Eigen::VectorXf gwg =
          (pu.transpose().array() * (q_.row(i) - q_.row(j)).transpose().array()).matrix();
      const Eigen::VectorXf gwm = ri - rj;
      a_.noalias() += lr * (g * d_hidden * pmu - reg * a_);
      b_.noalias() += lr * (g * (di * qm_.row(i) - dj * qm_.row(j)) - reg * b_);
      bias_h_ += lr * g * d_hidden;
      w_g_ += lr * (g * gwg - reg * w_g_);
      w_m_ += lr * (g * gwm - reg * w_m_);
      pu += lr * (g * gp.transpose() - reg * pu);
      pmu += lr * (g * gpm.transpose() - reg * pmu);
      q_.row(i) += lr * (g * gqi.transpose() - reg * q_.row(i));
      q_.row(j) += lr * (-g * gqi.transpose() - reg * q_.row(j));
      qm_.row(i) += lr * (g * gqmi.transpose() - reg * qm_.row(i));
      qm_.row(j) += lr * (-g * gqmj.transpose() - reg * qm_.row(j));
      item_bias_[i] += lr * (g - reg * item_bias_[i]);
      item_bias_[j] += lr * (-g - reg * item_bias_[j]);
    }
    epoch_seconds_.push_back(absl::ToDoubleSeconds(absl::Now() - start));
    epoch_losses_.push_back(pairs.empty() ? 0 : loss / pairs.size());
  }
  NcfScorer::Parts parts;
  parts.user_gmf = p_ * w_g_.asDiagonal();
  parts.user_hidden = pm_ * a_.transpose();
  parts.item_gmf = q_;
  parts.item_hidden = qm_ * b_.transpose();
  parts.item_hidden.rowwise() += bias_h_.transpose();
  parts.w_mlp = w_m_;
  parts.item_bias = item_bias_;
  scorer_ = NcfScorer(std::move(parts), data.item_users);
  return absl::OkStatus();
}

void NcfModel::Score(int32_t user, const UserHistory& history, absl::Span<float> out) const {
  if (user >= 0 && user < scorer_.num_users()) {
    scorer_.ScoreUser(user, out);
  } else {
    scorer_.ScoreHistory(history, out);
  }
}

NcfScorer::NcfScorer(Parts parts, CsrMatrix item_users)
    : parts_(std::move(parts)), item_users_(std::move(item_users)) {
  if (!Check().ok()) return;
  const int32_t items = item_users_.rows;
  item_user_gmf_sum_ = Matrix::Zero(items, parts_.user_gmf.cols());
  item_user_hidden_sum_ = Matrix::Zero(items, parts_.user_hidden.cols());
  item_user_count_ = Eigen::VectorXf::Zero(items);
  for (int32_t i = 0; i < items; ++i) {
    auto users = item_users_.RowIndices(i);
    const size_t take = std::min<size_t>(users.size(), kNcfFoldInUsersPerItem);
    for (size_t m = 0; m < take; ++m) {
      item_user_gmf_sum_.row(i) += parts_.user_gmf.row(users[m]);
      item_user_hidden_sum_.row(i) += parts_.user_hidden.row(users[m]);
    }
    item_user_count_[i] = static_cast<float>(take);
  }
}

absl::Status NcfScorer::Check() const {
  const Parts& p = parts_;
  const auto users = p.user_gmf.rows(), items = p.item_gmf.rows(), k = p.item_gmf.cols(),
             h = p.item_hidden.cols();
  if (p.user_gmf.cols() != k || p.user_hidden.rows() != users || p.user_hidden.cols() != h ||
      p.item_hidden.rows() != items || p.w_mlp.size() != h || p.item_bias.size() != items) {
    return absl::DataLossError("ncf: part sizes do not agree");
  }
  if (item_users_.rows != items || item_users_.cols != users) {
    return absl::DataLossError("ncf: item_users does not match the parts");
  }
  return absl::OkStatus();
}

void NcfScorer::ScoreVectors(const Eigen::Ref<const Eigen::VectorXf>& gmf,
                             const Eigen::Ref<const Eigen::VectorXf>& hidden, absl::Span<float> out) const {
  // The scoring kernel (score_kernels.h: AVX2 or SSE2 by the CPU, the same bits either way).
  NcfScoreItems({.item_gmf = parts_.item_gmf.data(),
                 .item_hidden = parts_.item_hidden.data(),
                 .item_bias = parts_.item_bias.data(),
                 .gmf = gmf.data(),
                 .hidden = hidden.data(),
                 .w_mlp = parts_.w_mlp.data(),
                 .n = num_items(),
                 .k = static_cast<int>(parts_.item_gmf.cols()),
                 .h = static_cast<int>(parts_.item_hidden.cols())},
                out.data());
}

void NcfScorer::ScoreUser(int32_t user, absl::Span<float> out) const {
  ScoreVectors(parts_.user_gmf.row(user).transpose(), parts_.user_hidden.row(user).transpose(), out);
}

void NcfScorer::ScoreHistory(const UserHistory& history, absl::Span<float> out) const {
  Eigen::VectorXf gmf = Eigen::VectorXf::Zero(parts_.user_gmf.cols());
  Eigen::VectorXf hidden = Eigen::VectorXf::Zero(parts_.user_hidden.cols());
  double total = 0;
  for (size_t n = 0; n < history.items.size(); ++n) {
    const int32_t i = history.items[n];
    if (i < 0 || i >= item_users_.rows) continue;
    const float w = n < history.weights.size() ? history.weights[n] : 1.0f;
    if (!(w > 0)) continue;
    if (item_user_count_.size() == item_users_.rows) {
      gmf += w * item_user_gmf_sum_.row(i).transpose();
      hidden += w * item_user_hidden_sum_.row(i).transpose();
      total += static_cast<double>(w) * item_user_count_[i];
      continue;
    }
    auto users = item_users_.RowIndices(i);
    const size_t take = std::min<size_t>(users.size(), kNcfFoldInUsersPerItem);
    for (size_t m = 0; m < take; ++m) {
      gmf += w * parts_.user_gmf.row(users[m]).transpose();
      hidden += w * parts_.user_hidden.row(users[m]).transpose();
      total += w;
    }
  }
  if (total > 0) {
    gmf /= static_cast<float>(total);
    hidden /= static_cast<float>(total);
  }
  ScoreVectors(gmf, hidden, out);
}

}  // namespace marketlens::recommender
