#include "services/recommender/eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace marketlens::recommender {

RankingMetrics UserRankingMetrics(absl::Span<const int32_t> ranked, absl::Span<const int32_t> relevant,
                                  int k) {
  RankingMetrics m;
  if (relevant.empty() || k <= 0) return m;
  const int n = std::min<int>(k, static_cast<int>(ranked.size()));
  int hits = 0;
  double dcg = 0, ap = 0;
  for (int r = 0; r < n; ++r) {
    if (!std::binary_search(relevant.begin(), relevant.end(), ranked[r])) continue;
    ++hits;
    dcg += 1.0 / std::log2(r + 2.0);
    ap += static_cast<double>(hits) / (r + 1);
  }
  const int ideal = std::min<int>(k, static_cast<int>(relevant.size()));
  double idcg = 0;
  for (int r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(r + 2.0);
  m.precision = static_cast<double>(hits) / k;
  m.recall = static_cast<double>(hits) / relevant.size();
  m.ndcg = dcg / idcg;
  m.map = ap / ideal;
  return m;
}

float ItemCooccurrenceSimilarity::operator()(int32_t a, int32_t b) const {
  auto x = item_users_->RowIndices(a);
  auto y = item_users_->RowIndices(b);
  if (x.empty() || y.empty()) return 0;
  size_t i = 0, j = 0;
  int common = 0;
  while (i < x.size() && j < y.size()) {
    if (x[i] == y[j]) {
      ++common;
      ++i;
      ++j;
    } else if (x[i] < y[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return static_cast<float>(common / std::sqrt(static_cast<double>(x.size()) * y.size()));
}

MetricsAccumulator::MetricsAccumulator(int k, int32_t num_items, const std::vector<int32_t>* item_users,
                                       int32_t num_users, std::function<float(int32_t, int32_t)> similarity)
    : k_(k),
      num_items_(num_items),
      item_users_(item_users),
      num_users_(num_users),
      similarity_(std::move(similarity)) {}

void MetricsAccumulator::Add(absl::Span<const int32_t> ranked, absl::Span<const int32_t> relevant) {
  ++users_;
  RankingMetrics m = UserRankingMetrics(ranked, relevant, k_);
  sum_.precision += m.precision;
  sum_.recall += m.recall;
  sum_.ndcg += m.ndcg;
  sum_.map += m.map;
  const size_t n = std::min<size_t>(k_, ranked.size());
  for (size_t r = 0; r < n; ++r) {
    recommended_.insert(ranked[r]);
    if (item_users_ != nullptr && num_users_ > 0) {
      const double share = std::max<int32_t>(1, (*item_users_)[ranked[r]]) / static_cast<double>(num_users_);
      novelty_sum_ += -std::log2(share);
      ++novelty_items_;
    }
  }
  if (similarity_ && n >= 2) {
    double d = 0;
    int pairs = 0;
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = a + 1; b < n; ++b) {
        d += 1.0 - similarity_(ranked[a], ranked[b]);
        ++pairs;
      }
    }
    diversity_sum_ += d / pairs;
    ++diversity_lists_;
  }
}

void MetricsAccumulator::Merge(const MetricsAccumulator& o) {
  sum_.precision += o.sum_.precision;
  sum_.recall += o.sum_.recall;
  sum_.ndcg += o.sum_.ndcg;
  sum_.map += o.sum_.map;
  diversity_sum_ += o.diversity_sum_;
  diversity_lists_ += o.diversity_lists_;
  novelty_sum_ += o.novelty_sum_;
  novelty_items_ += o.novelty_items_;
  users_ += o.users_;
  recommended_.insert(o.recommended_.begin(), o.recommended_.end());
}

EvalMetrics MetricsAccumulator::Finish() const {
  EvalMetrics m;
  m.users = users_;
  if (users_ > 0) {
    m.precision = sum_.precision / users_;
    m.recall = sum_.recall / users_;
    m.ndcg = sum_.ndcg / users_;
    m.map = sum_.map / users_;
  }
  m.coverage = num_items_ > 0 ? static_cast<double>(recommended_.size()) / num_items_ : 0;
  m.diversity = diversity_lists_ > 0 ? diversity_sum_ / diversity_lists_ : 0;
  m.novelty = novelty_items_ > 0 ? novelty_sum_ / novelty_items_ : 0;
  return m;
}

}  // namespace marketlens::recommender
