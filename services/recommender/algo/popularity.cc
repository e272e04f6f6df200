#include "services/recommender/algo/popularity.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/recommender/data/hygiene.h"

namespace marketlens::recommender {

std::vector<float> CountDistinctUsers(const TrainingData& data, int64_t from, int64_t to) {
  std::vector<float> counts(data.num_items(), 0);
  absl::flat_hash_set<uint64_t> seen;
  for (const Event& e : data.events) {
    if (!IsPositive(e.type) || e.timestamp < from || e.timestamp > to) continue;
    if (seen.insert((static_cast<uint64_t>(e.user) << 32) | static_cast<uint32_t>(e.item)).second) {
      counts[e.item] += 1;
    }
  }
  return counts;
}

std::string PopularityModel::name() const {
  if (options_.by_category) return "popularity_category";
  return options_.window_seconds > 0 ? "popularity_window" : "popularity";
}

Params PopularityModel::params() const {
  Params p{{"window_seconds", absl::StrCat(options_.window_seconds)}};
  if (options_.by_category) p["by_category"] = "true";
  return p;
}

absl::Status PopularityModel::Fit(const TrainingData& data) {
  const int64_t from = options_.window_seconds > 0 ? data.time_to - options_.window_seconds
                                                   : std::numeric_limits<int64_t>::min();
  counts_ = CountDistinctUsers(data, from, std::numeric_limits<int64_t>::max());
  normalized_ = counts_;
  NormalizeMaxAbs(absl::MakeSpan(normalized_));
  category_.assign(data.num_items(), -1);
  absl::flat_hash_map<std::string, int32_t> ids;
  for (int32_t i = 0; i < data.num_items(); ++i) {
    const std::string& c = data.Category(i);
    if (c.empty()) continue;
    auto [it, added] = ids.try_emplace(c, static_cast<int32_t>(ids.size()));
    category_[i] = it->second;
  }
  categories_ = static_cast<int32_t>(ids.size());
  return absl::OkStatus();
}

void PopularityModel::Score(int32_t, const UserHistory& history, absl::Span<float> out) const {
  if (!options_.by_category || categories_ == 0) {
    std::copy(normalized_.begin(), normalized_.end(), out.begin());
    return;
  }
  std::vector<float> share(categories_, 0);
  float total = 0;
  for (size_t n = 0; n < history.items.size(); ++n) {
    const int32_t c = category_[history.items[n]];
    if (c < 0) continue;
    share[c] += history.weights[n];
    total += history.weights[n];
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const int32_t c = category_[i];
    const float s = (c >= 0 && total > 0) ? share[c] / total : 0;
    out[i] = s * normalized_[i] + 1e-3f * normalized_[i];
  }
}

}  // namespace marketlens::recommender
