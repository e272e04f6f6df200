#include "services/recommender/algo/two_tower.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace marketlens::recommender {
namespace {

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Lower-case alphanumeric words of 2+ characters.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      w.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else {
      if (w.size() >= 2) out.push_back(w);
      w.clear();
    }
  }
  if (w.size() >= 2) out.push_back(w);
  return out;
}

std::vector<std::string> FieldNames(const ItemInfo& info) {
  std::vector<std::string> out;
  if (!info.category.empty()) out.push_back(absl::StrCat("category=", info.category));
  if (!info.brand.empty()) out.push_back(absl::StrCat("brand=", info.brand));
  for (const auto& [k, v] : info.attributes) out.push_back(absl::StrCat(k, "=", v));
  return out;
}

}  // namespace

Params TwoTowerModel::params() const {
  return {{"factors", absl::StrCat(options_.factors)},
          {"learning_rate", absl::StrCat(options_.learning_rate)},
          {"regularization", absl::StrCat(options_.regularization)},
          {"epochs", absl::StrCat(options_.epochs)},
          {"id_dropout", absl::StrCat(options_.id_dropout)}};
}

TwoTowerModel::ItemFeatures TwoTowerModel::FeaturesOf(const ItemInfo& info, bool grow) {
  ItemFeatures f;
  auto add = [grow](absl::flat_hash_map<std::string, int32_t>& ids, const std::string& key,
                    std::vector<int32_t>& out) {
    auto it = ids.find(key);
    if (it == ids.end()) {
      if (!grow) return;
      it = ids.emplace(key, static_cast<int32_t>(ids.size())).first;
    }
    out.push_back(it->second);
  };
  for (const std::string& w : Words(absl::StrCat(info.title, " ", info.description)))
    add(token_ids_, w, f.tokens);
  std::sort(f.tokens.begin(), f.tokens.end());
  f.tokens.erase(std::unique(f.tokens.begin(), f.tokens.end()), f.tokens.end());
  for (const std::string& name : FieldNames(info)) add(field_ids_, name, f.fields);
  return f;
}

TwoTowerModel::ItemFeatures TwoTowerModel::FeaturesOf(const ItemInfo& info) const {
  return const_cast<TwoTowerModel*>(this)->FeaturesOf(info, /*grow=*/false);  // grow=false: read only
}

Eigen::VectorXf TwoTowerModel::ContentVector(const ItemFeatures& f) const {
  Eigen::VectorXf v = Eigen::VectorXf::Zero(options_.factors);
  for (int32_t t : f.tokens) v += token_.row(t).transpose() / static_cast<float>(f.tokens.size());
  for (int32_t c : f.fields) v += field_.row(c).transpose();
  return v;
}

absl::Status TwoTowerModel::Fit(const TrainingData& data) {
  const int k = options_.factors;
  if (k < 1 || k > 1024) return absl::InvalidArgumentError("two_tower: factors must be 1..1024");
  if (options_.learning_rate <= 0 || options_.regularization < 0 || options_.epochs < 0 ||
      options_.id_dropout < 0 || options_.id_dropout > 1) {
    return absl::InvalidArgumentError(
        "two_tower: learning_rate must be > 0, regularization and epochs >= 0, id_dropout in [0, 1]");
  }
  const int32_t nu = data.num_users(), ni = data.num_items();
  if (ni < 2) return absl::FailedPreconditionError("two_tower: needs at least 2 items");
  token_ids_.clear();
  field_ids_.clear();
  item_features_.assign(ni, {});
  for (int32_t i = 0; i < ni; ++i) item_features_[i] = FeaturesOf(data.item_info[i], /*grow=*/true);
  std::mt19937_64 rng(options_.seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  auto init = [&](Matrix& m, int64_t rows) {
    m.resize(rows, k);
    for (int64_t n = 0; n < m.size(); ++n) m.data()[n] = normal(rng);
  };
  init(user_, nu);
  init(item_id_, ni);
  init(token_, static_cast<int64_t>(token_ids_.size()));
  init(field_, static_cast<int64_t>(field_ids_.size()));
  // Each user's most recent history_cap items (by weight when there are no times: CSR order).
  histories_.assign(nu, {});
  for (int32_t u = 0; u < nu; ++u) {
    auto items = data.user_items.RowIndices(u);
    histories_[u].assign(items.begin(), items.end());
    if (static_cast<int>(histories_[u].size()) > options_.history_cap) {
      std::shuffle(histories_[u].begin(), histories_[u].end(), rng);
      histories_[u].resize(options_.history_cap);
    }
  }
  item_vectors_.resize(ni, k);
  // An item nobody interacted with (a catalogue item added for cold start) has an id embedding trained only
  // as a negative: it is represented by its content alone, as EmbedItem would for a brand-new item.
  auto refresh_items = [&] {
    for (int32_t i = 0; i < ni; ++i) {
      item_vectors_.row(i) = ContentVector(item_features_[i]).transpose();
      if (data.item_users.RowIndices(i).size() > 0) item_vectors_.row(i) += item_id_.row(i);
    }
  };
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t u = 0; u < nu; ++u) {
    for (int32_t i : data.user_items.RowIndices(u)) pairs.push_back({u, i});
  }
  std::uniform_int_distribution<int32_t> any_item(0, ni - 1);
  std::uniform_real_distribution<float> coin(0, 1);
  const float lr = options_.learning_rate, reg = options_.regularization;
  epoch_seconds_.clear();
  Eigen::VectorXf uvec(k), vi(k), vj(k), hist_mean(k);
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    const absl::Time start = absl::Now();
    // The history part of the user tower uses item vectors as of the epoch's start (a stop-gradient: the
    // items are trained through their own positive/negative terms), which keeps a step O(features).
    refresh_items();
    std::shuffle(pairs.begin(), pairs.end(), rng);
    for (const auto& [u, i] : pairs) {
      auto row = data.user_items.RowIndices(u);
      int32_t j = any_item(rng);
      for (int tries = 0; tries < 8 && std::binary_search(row.begin(), row.end(), j); ++tries)
        j = any_item(rng);
      // User tower: own embedding + mean of the OTHER history items (leaving i out, so the model cannot
      // score i by finding i itself in the history).
      hist_mean.setZero();
      int n = 0;
      for (int32_t h : histories_[u]) {
        if (h == i) continue;
        hist_mean += item_vectors_.row(h).transpose();
        ++n;
      }
      if (n > 0) hist_mean /= static_cast<float>(n);
      uvec = user_.row(u).transpose() + hist_mean;
      const bool use_id_i = coin(rng) >= options_.id_dropout, use_id_j = coin(rng) >= options_.id_dropout;
      const ItemFeatures& fi = item_features_[i];
      const ItemFeatures& fj = item_features_[j];
      vi = ContentVector(fi);
      vj = ContentVector(fj);
      if (use_id_i) vi += item_id_.row(i).transpose();
      if (use_id_j) vj += item_id_.row(j).transpose();
      const float g = Sigmoid(-(uvec.dot(vi) - uvec.dot(vj)));
      const Eigen::VectorXf gu = g * (vi - vj);  // d/du
      const Eigen::VectorXf gi = g * uvec;       // d/dv_i (and -gi for v_j)
      user_.row(u) += lr * (gu.transpose() - reg * user_.row(u));
      if (use_id_i) item_id_.row(i) += lr * (gi.transpose() - reg * item_id_.row(i));
      if (use_id_j) item_id_.row(j) += lr * (-gi.transpose() - reg * item_id_.row(j));
      for (int32_t t : fi.tokens)
        token_.row(t) += lr * (gi.transpose() / static_cast<float>(fi.tokens.size()) - reg * token_.row(t));
      for (int32_t t : fj.tokens)
        token_.row(t) += lr * (-gi.transpose() / static_cast<float>(fj.tokens.size()) - reg * token_.row(t));
      for (int32_t c : fi.fields) field_.row(c) += lr * (gi.transpose() - reg * field_.row(c));
      for (int32_t c : fj.fields) field_.row(c) += lr * (-gi.transpose() - reg * field_.row(c));
    }
    epoch_seconds_.push_back(absl::ToDoubleSeconds(absl::Now() - start));
  }
  refresh_items();
  return absl::OkStatus();
}

Eigen::VectorXf TwoTowerModel::EmbedItem(const ItemInfo& info) const {
  return ContentVector(FeaturesOf(info));
}

Eigen::VectorXf TwoTowerModel::EmbedUser(int32_t user, const UserHistory& history) const {
  Eigen::VectorXf u = Eigen::VectorXf::Zero(options_.factors);
  if (user >= 0 && user < user_.rows()) u += user_.row(user).transpose();
  Eigen::VectorXf mean = Eigen::VectorXf::Zero(options_.factors);
  int n = 0;
  for (int32_t h : history.items) {
    if (h < 0 || h >= item_vectors_.rows()) continue;
    mean += item_vectors_.row(h).transpose();
    if (++n >= options_.history_cap) break;
  }
  if (n > 0) u += mean / static_cast<float>(n);
  return u;
}

void TwoTowerModel::Score(int32_t user, const UserHistory& history, absl::Span<float> out) const {
  const Eigen::VectorXf u = EmbedUser(user, history);
  Eigen::Map<Eigen::VectorXf> scores(out.data(), static_cast<Eigen::Index>(out.size()));
  scores.noalias() = item_vectors_ * u;
}

}  // namespace marketlens::recommender
