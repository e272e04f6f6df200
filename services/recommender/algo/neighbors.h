// Item-to-item neighbour lists (the top-k most similar items of every item), shared by item-kNN,
// co-purchase and content-based similarity, and the user scoring built on them:
//   score(i) = sum over the user's items j of w_j * sim(j, i).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_NEIGHBORS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_NEIGHBORS_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "services/recommender/algo/model.h"
#include "services/recommender/data/matrix.h"

namespace marketlens::recommender {

// Row j holds j's neighbours, best first (NOT sorted by index, unlike other CsrMatrix uses).
using NeighborLists = CsrMatrix;

// Builds neighbour lists from a similarity computed row by row: `row_similarity(i, acc, touched)` adds the
// similarity of item i to every other item into acc[j] and lists every j it wrote in `touched` (acc is
// zero and touched empty on entry). Keeps the k best per row with similarity > min_similarity, never i
// itself. Rows are computed on `threads` threads.
NeighborLists BuildNeighborLists(
    int32_t items, int k, float min_similarity, int threads,
    const std::function<void(int32_t, std::vector<float>&, std::vector<int32_t>&)>& row_similarity);

// out += sum_j w_j * sim(j, .) over the history (w_j = 1 when `binary`).
void ScoreFromNeighbors(const NeighborLists& neighbors, const UserHistory& history, bool binary,
                        absl::Span<float> out);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_NEIGHBORS_H_
