#include "services/recommender/algo/ann.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <queue>

#include "absl/strings/str_cat.h"

#if __has_include(<hnswlib/hnswlib.h>)
#include <hnswlib/hnswlib.h>
#define MARKETLENS_HAVE_HNSW 1
#else
#define MARKETLENS_HAVE_HNSW 0
#endif

namespace marketlens::recommender {
namespace {

class ExactIndex : public MipsIndex {
 public:
  ExactIndex(const float* rows, int n, int dim)
      : rows_(rows, rows + static_cast<size_t>(n) * dim), n_(n), dim_(dim) {}
  std::vector<ScoredItem> Search(const float* query, int k) const override {
    std::vector<float> scores(n_);
    for (int i = 0; i < n_; ++i) {
      const float* y = &rows_[static_cast<size_t>(i) * dim_];
      float s = 0;
      for (int d = 0; d < dim_; ++d) s += y[d] * query[d];
      scores[i] = s;
    }
    return TopN(scores, k);
  }
  bool approximate() const override { return false; }

 private:
  std::vector<float> rows_;
  int n_, dim_;
};

#if MARKETLENS_HAVE_HNSW
class HnswIndex : public MipsIndex {
 public:
  HnswIndex(const float* rows, int n, int dim, const AnnOptions& options)
      : rows_(rows, rows + static_cast<size_t>(n) * dim), n_(n), dim_(dim), space_(dim + 1) {
    float max_norm2 = 0;
    for (int i = 0; i < n; ++i) {
      float s = 0;
      for (int d = 0; d < dim; ++d) s += rows[i * dim + d] * rows[i * dim + d];
      max_norm2 = std::max(max_norm2, s);
    }
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space_, std::max(1, n), options.m,
                                                               options.ef_construction);
    std::vector<float> point(dim + 1);
    for (int i = 0; i < n; ++i) {
      float s = 0;
      for (int d = 0; d < dim; ++d) {
        point[d] = rows[i * dim + d];
        s += point[d] * point[d];
      }
      point[dim] = std::sqrt(std::max(0.0f, max_norm2 - s));
      index_->addPoint(point.data(), static_cast<hnswlib::labeltype>(i));
    }
    ef_search_ = std::max(1, options.ef_search);
    index_->setEf(ef_search_);
  }
  std::vector<ScoredItem> Search(const float* query, int k) const override {
    std::vector<float> q(query, query + dim_);
    q.push_back(0);
    std::priority_queue<std::pair<float, hnswlib::labeltype>> heap;
    try {
      heap = index_->searchKnn(q.data(), std::min(std::max(3 * k, ef_search_), n_));
    } catch (const std::exception&) {
      return ExactFallback(query, k);
    }
    std::vector<ScoredItem> out;
    while (!heap.empty()) {
      const int32_t i = static_cast<int32_t>(heap.top().second);
      heap.pop();
      float s = 0;
      for (int d = 0; d < dim_; ++d) s += rows_[static_cast<size_t>(i) * dim_ + d] * query[d];
      out.push_back({i, s});
    }
    // Candidates re-ranked by their exact inner product: the graph search is approximate, the order of
    // what it found need not be.
    std::sort(out.begin(), out.end(), [](const ScoredItem& a, const ScoredItem& b) {
      return a.score != b.score ? a.score > b.score : a.item < b.item;
    });
    if (static_cast<int>(out.size()) > k) out.resize(k);
    return out;
  }
  bool approximate() const override { return true; }

 private:
  std::vector<ScoredItem> ExactFallback(const float* query, int k) const {
    return ExactIndex(rows_.data(), n_, dim_).Search(query, k);
  }

  std::vector<float> rows_;
  int n_, dim_;
  int ef_search_ = 64;
  hnswlib::L2Space space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
};
#endif

}  // namespace

bool HnswAvailable() { return MARKETLENS_HAVE_HNSW != 0; }

absl::StatusOr<std::unique_ptr<MipsIndex>> MipsIndex::Build(const float* rows, int n, int dim,
                                                            const AnnOptions& options) {
  if (n < 0 || dim <= 0) return absl::InvalidArgumentError("ann: need n >= 0 and dim > 0");
#if MARKETLENS_HAVE_HNSW
  if (!options.exact && n > 0) {
    try {
      return std::unique_ptr<MipsIndex>(new HnswIndex(rows, n, dim, options));
    } catch (const std::exception& e) {
      return absl::ResourceExhaustedError(absl::StrCat("ann: hnsw build failed: ", e.what()));
    }
  }
#endif
  return std::unique_ptr<MipsIndex>(new ExactIndex(rows, n, dim));
}

}  // namespace marketlens::recommender
