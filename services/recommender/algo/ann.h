// Top-k by inner product over item factors (maximum inner product search), exact or approximate.
// Exact search scores every item (~items x factors multiply-adds: 64k for 1,000 items x 64 factors,
// microseconds); above a few tens of thousands of items the serving path switches to HNSW (Debian's
// header-only hnswlib, libhnswlib-dev). HNSW needs a metric, so inner products are reduced to Euclidean
// distance with the usual augmentation (Bachrach et al. 2014): y' = [y, sqrt(M^2 - |y|^2)], q' = [q, 0],
// where M is the largest item norm; then |q' - y'|^2 = |q|^2 + M^2 - 2 q.y, so the nearest neighbour is
// the largest inner product. Returned scores are the exact inner products of the items found.
// Without hnswlib at build time, Build() returns an exact index (approximate() == false).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_ANN_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_ANN_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

struct AnnOptions {
  int m = 16;
  int ef_construction = 100;
  // Candidates per search (at least 3k), re-ranked exactly. Recall@10 on 4,000 16-d vectors of mixed
  // norms: 0.86 at 100, 0.97 at 400 (ann_test).
  int ef_search = 400;
  bool exact = false;  // force exact search
};

class MipsIndex {
 public:
  virtual ~MipsIndex() = default;
  // `rows`: n x dim row-major item vectors (copied).
  static absl::StatusOr<std::unique_ptr<MipsIndex>> Build(const float* rows, int n, int dim,
                                                          const AnnOptions& options = {});
  // The k items with the largest inner product with `query` (dim floats), best first. Thread-safe.
  virtual std::vector<ScoredItem> Search(const float* query, int k) const = 0;
  virtual bool approximate() const = 0;
};

// True when this build has hnswlib.
bool HnswAvailable();

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_ANN_H_
