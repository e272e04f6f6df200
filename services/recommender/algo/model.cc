#include "services/recommender/algo/model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace marketlens::recommender {

void OwnedHistory::Add(int32_t item, float weight) {
  auto it = std::lower_bound(items.begin(), items.end(), item);
  const size_t pos = it - items.begin();
  if (it != items.end() && *it == item) {
    weights[pos] += weight;
    return;
  }
  items.insert(it, item);
  weights.insert(weights.begin() + pos, weight);
}

void OwnedHistory::Remove(int32_t item) {
  auto it = std::lower_bound(items.begin(), items.end(), item);
  if (it == items.end() || *it != item) return;
  const size_t pos = it - items.begin();
  items.erase(it);
  weights.erase(weights.begin() + pos);
}

std::vector<ScoredItem> TopN(absl::Span<const float> scores, int n, absl::Span<const int32_t> exclude,
                             const std::function<bool(int32_t)>& keep) {
  std::vector<ScoredItem> all;
  if (n <= 0) return all;
  auto better = [](const ScoredItem& a, const ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  };
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const size_t size = scores.size();
  if (!keep) {
    // Serving asks for a few dozen of thousands of items: a threshold from every 8th score (aiming at ~2n +
    // |exclude| items at or above it), then one branch-free pass copies the items at or above it into a
    // per-thread buffer, and only those are ranked. When the estimate kept too few (or there are few
    // items), the pass runs again with no threshold. Every item below the threshold is worse than each of
    // the n kept ones, so the result is that of ranking everything (`better` is a total order).
    thread_local std::vector<float> sample;
    thread_local std::vector<ScoredItem> kept;
    float threshold = neg_inf;
    const size_t wanted = 2 * static_cast<size_t>(n) + exclude.size();
    if (wanted * 8 < size) {
      sample.clear();
      for (size_t i = 0; i < size; i += 8) {
        if (scores[i] > neg_inf) sample.push_back(scores[i]);  // NaN compares false
      }
      const size_t rank = wanted / 8 + 1;
      if (rank < sample.size()) {
        std::nth_element(sample.begin(), sample.begin() + rank, sample.end(), std::greater<float>());
        threshold = sample[rank];
      }
    }
    thread_local std::vector<int32_t> passed;
    passed.resize(size + 1);
    const int32_t count = static_cast<int32_t>(size);
    for (;;) {
      // Indexes written always, kept when the score qualifies (NaN never: its comparisons are false).
      size_t c = 0;
      if (threshold > neg_inf) {
        for (int32_t i = 0; i < count; ++i) {
          passed[c] = i;
          c += scores[i] >= threshold;
        }
      } else {
        for (int32_t i = 0; i < count; ++i) {
          passed[c] = i;
          c += scores[i] > neg_inf;
        }
      }
      kept.resize(c);
      size_t w = 0, ex = 0;
      for (size_t k = 0; k < c; ++k) {
        const int32_t i = passed[k];
        while (ex < exclude.size() && exclude[ex] < i) ++ex;
        if (ex < exclude.size() && exclude[ex] == i) continue;
        kept[w++] = {i, scores[i]};
      }
      if (w < static_cast<size_t>(n) && threshold != neg_inf) {
        threshold = neg_inf;  // too few above the estimate: everything
        continue;
      }
      if (w > static_cast<size_t>(n)) {
        std::nth_element(kept.begin(), kept.begin() + n, kept.begin() + w, better);
        w = n;
      }
      std::sort(kept.begin(), kept.begin() + w, better);
      all.assign(kept.begin(), kept.begin() + w);
      return all;
    }
  }
  // With a predicate: collect, then filter lazily in rank order, so an expensive predicate runs on the
  // head only.
  all.reserve(size);
  size_t ex = 0;
  for (int32_t i = 0; i < static_cast<int32_t>(size); ++i) {
    const float s = scores[i];
    if (s == neg_inf || std::isnan(s)) continue;
    while (ex < exclude.size() && exclude[ex] < i) ++ex;
    if (ex < exclude.size() && exclude[ex] == i) continue;
    all.push_back({i, s});
  }
  std::vector<ScoredItem> out;
  size_t head = std::min(all.size(), static_cast<size_t>(n) * 2);
  size_t done = 0;
  while (done < all.size() && static_cast<int>(out.size()) < n) {
    std::partial_sort(all.begin() + done, all.begin() + head, all.end(), better);
    for (; done < head && static_cast<int>(out.size()) < n; ++done) {
      if (keep(all[done].item)) out.push_back(all[done]);
    }
    head = std::min(all.size(), head * 2);
  }
  return out;
}

void NormalizeMaxAbs(absl::Span<float> scores) {
  float m = 0;
  for (float v : scores) {
    if (std::isfinite(v)) m = std::max(m, std::fabs(v));
  }
  if (m <= 0) return;
  const float inv = 1.0f / m;
  for (float& v : scores) v *= inv;
}

}  // namespace marketlens::recommender
