#include "services/recommender/algo/neighbors.h"

#include <algorithm>

#include "services/recommender/algo/parallel.h"

namespace marketlens::recommender {

NeighborLists BuildNeighborLists(
    int32_t items, int k, float min_similarity, int threads,
    const std::function<void(int32_t, std::vector<float>&, std::vector<int32_t>&)>& row_similarity) {
  std::vector<std::vector<ScoredItem>> rows(items);
  threads = ResolveThreads(threads);
  std::vector<std::vector<float>> accs(threads, std::vector<float>(items, 0.0f));
  std::vector<std::vector<int32_t>> touched_lists(threads);
  ParallelFor(items, threads, 16, [&](int64_t begin, int64_t end, int t) {
    std::vector<float>& acc = accs[t];
    std::vector<int32_t>& touched = touched_lists[t];
    std::vector<ScoredItem> candidates;
    for (int64_t i = begin; i < end; ++i) {
      touched.clear();
      row_similarity(static_cast<int32_t>(i), acc, touched);
      candidates.clear();
      for (int32_t j : touched) {
        const float s = acc[j];
        acc[j] = 0;
        if (j == i || !(s > min_similarity)) continue;
        candidates.push_back({j, s});
      }
      // `touched` may list an item twice; the second time its acc is already 0 and it is skipped above.
      auto better = [](const ScoredItem& a, const ScoredItem& b) {
        return a.score != b.score ? a.score > b.score : a.item < b.item;
      };
      if (static_cast<int>(candidates.size()) > k) {
        std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(), better);
        candidates.resize(k);
      } else {
        std::sort(candidates.begin(), candidates.end(), better);
      }
      rows[i] = candidates;
    }
  });
  NeighborLists out;
  out.rows = items;
  out.cols = items;
  out.indptr.assign(items + 1, 0);
  for (int32_t i = 0; i < items; ++i) out.indptr[i + 1] = out.indptr[i] + rows[i].size();
  out.indices.reserve(out.indptr.back());
  out.values.reserve(out.indptr.back());
  for (const auto& row : rows) {
    for (const ScoredItem& s : row) {
      out.indices.push_back(s.item);
      out.values.push_back(s.score);
    }
  }
  return out;
}

void ScoreFromNeighbors(const NeighborLists& neighbors, const UserHistory& history, bool binary,
                        absl::Span<float> out) {
  for (size_t n = 0; n < history.items.size(); ++n) {
    const int32_t j = history.items[n];
    if (j < 0 || j >= neighbors.rows) continue;
    const float w = binary ? 1.0f : history.weights[n];
    auto idx = neighbors.RowIndices(j);
    auto sim = neighbors.RowValues(j);
    for (size_t m = 0; m < idx.size(); ++m) out[idx[m]] += w * sim[m];
  }
}

}  // namespace marketlens::recommender
