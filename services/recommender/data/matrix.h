// CsrMatrix: a compressed sparse row matrix of floats, the user x item interaction matrix every algorithm
// trains on (and its transpose, item x user). Column indexes are sorted within each row, so rows can be
// merged and searched.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_DATA_MATRIX_H_
#define MARKETLENS_SERVICES_RECOMMENDER_DATA_MATRIX_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace marketlens::recommender {

struct Triplet {
  int32_t row = 0;
  int32_t col = 0;
  float value = 0;
};

struct CsrMatrix {
  int32_t rows = 0;
  int32_t cols = 0;
  std::vector<int64_t> indptr{0};  // rows + 1 entries
  std::vector<int32_t> indices;
  std::vector<float> values;

  int64_t nnz() const { return static_cast<int64_t>(indices.size()); }
  int32_t RowSize(int32_t r) const { return static_cast<int32_t>(indptr[r + 1] - indptr[r]); }
  absl::Span<const int32_t> RowIndices(int32_t r) const {
    return absl::MakeConstSpan(indices.data() + indptr[r], indptr[r + 1] - indptr[r]);
  }
  absl::Span<const float> RowValues(int32_t r) const {
    return absl::MakeConstSpan(values.data() + indptr[r], indptr[r + 1] - indptr[r]);
  }
  // The value at (r, c), 0 when absent (binary search).
  float At(int32_t r, int32_t c) const;

  CsrMatrix Transpose() const;
  // Builds a rows x cols matrix; entries at the same position are summed. Entries with value 0 are kept
  // out.
  static CsrMatrix FromTriplets(int32_t rows, int32_t cols, std::vector<Triplet> triplets);
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_DATA_MATRIX_H_
