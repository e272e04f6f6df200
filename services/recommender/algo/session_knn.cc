#include "services/recommender/algo/session_knn.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"

namespace marketlens::recommender {

void SessionKnn::Fit(const std::vector<SessionSequence>& sessions, int32_t num_items) {
  num_items_ = num_items;
  sessions_.clear();
  for (const SessionSequence& s : sessions) {
    SessionSequence d = s;
    std::vector<int32_t> seen;
    d.items.clear();
    for (int32_t i : s.items) {
      if (i < 0 || i >= num_items || std::find(seen.begin(), seen.end(), i) != seen.end()) continue;
      seen.push_back(i);
      d.items.push_back(i);
    }
    if (!d.items.empty()) sessions_.push_back(std::move(d));
  }
  std::stable_sort(sessions_.begin(), sessions_.end(),
                   [](const SessionSequence& a, const SessionSequence& b) { return a.time < b.time; });
  item_sessions_.assign(num_items, {});
  for (size_t n = 0; n < sessions_.size(); ++n) {
    for (int32_t i : sessions_[n].items) item_sessions_[i].push_back(static_cast<int32_t>(n));
  }
  idf_.assign(num_items, 0);
  for (int32_t i = 0; i < num_items; ++i) {
    idf_[i] =
        item_sessions_[i].empty()
            ? 0
            : static_cast<float>(std::log(static_cast<double>(sessions_.size()) / item_sessions_[i].size()));
  }
}

void SessionKnn::Score(absl::Span<const int32_t> items, int hour, absl::Span<float> out) const {
  Fill(out, 0);
  if (items.empty()) return;
  // Position weights: the last item 1, earlier ones linearly less.
  absl::flat_hash_map<int32_t, float> weight;
  const size_t len = items.size();
  for (size_t p = 0; p < len; ++p) {
    if (items[p] < 0 || items[p] >= num_items_) continue;
    const float w = options_.position_decay ? static_cast<float>(p + 1) / len : 1.0f;
    float& slot = weight[items[p]];
    slot = std::max(slot, w);
  }
  // Candidates: the most recent sessions holding any of the items (merge of the per-item lists, newest
  // first).
  std::vector<int32_t> candidates;
  for (const auto& [item, w] : weight) {
    const auto& list = item_sessions_[item];
    const size_t take = std::min<size_t>(list.size(), options_.sample);
    candidates.insert(candidates.end(), list.end() - take, list.end());
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (static_cast<int>(candidates.size()) > options_.sample) {
    candidates.erase(candidates.begin(), candidates.end() - options_.sample);
  }
  std::vector<std::pair<float, int32_t>> sims;
  sims.reserve(candidates.size());
  for (int32_t c : candidates) {
    const SessionSequence& s = sessions_[c];
    float sim = 0;
    for (int32_t i : s.items) {
      auto it = weight.find(i);
      if (it != weight.end()) sim += it->second;
    }
    sim /= std::sqrt(static_cast<float>(s.items.size()));
    if (options_.hour_boost > 0 && hour >= 0 && s.hour >= 0) {
      const int diff = std::abs(hour - s.hour);
      if (std::min(diff, 24 - diff) <= 2) sim *= 1 + options_.hour_boost;
    }
    if (sim > 0) sims.push_back({sim, c});
  }
  const size_t keep = std::min<size_t>(sims.size(), options_.neighbors);
  std::partial_sort(sims.begin(), sims.begin() + keep, sims.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second > b.second;
  });
  for (size_t n = 0; n < keep; ++n) {
    for (int32_t i : sessions_[sims[n].second].items) out[i] += sims[n].first;
  }
  if (options_.idf_weight > 0) {
    for (int32_t i = 0; i < num_items_; ++i) {
      if (out[i] > 0) out[i] *= std::pow(1 + idf_[i], options_.idf_weight);
    }
  }
}

void ItemToItem::Fit(const std::vector<SessionSequence>& sessions, int32_t num_items) {
  std::vector<absl::flat_hash_map<int32_t, float>> co(num_items);
  std::vector<float> count(num_items, 0);
  for (const SessionSequence& s : sessions) {
    std::vector<int32_t> items;
    for (int32_t i : s.items) {
      if (i >= 0 && i < num_items) items.push_back(i);
    }
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    for (int32_t a : items) {
      count[a] += 1;
      for (int32_t b : items) {
        if (a != b) co[a][b] += 1;
      }
    }
  }
  neighbors_.assign(num_items, {});
  for (int32_t a = 0; a < num_items; ++a) {
    for (const auto& [b, c] : co[a]) neighbors_[a].push_back({b, c / std::sqrt(count[a] * count[b])});
  }
}

void ItemToItem::Score(absl::Span<const int32_t> items, absl::Span<float> out) const {
  Fill(out, 0);
  if (items.empty()) return;
  auto add = [&](int32_t item, float w) {
    if (item < 0 || item >= static_cast<int32_t>(neighbors_.size())) return;
    for (const auto& [b, s] : neighbors_[item]) out[b] += w * s;
  };
  if (last_item_only_) {
    add(items.back(), 1);
  } else {
    for (int32_t i : items) add(i, 1);
  }
}

}  // namespace marketlens::recommender
