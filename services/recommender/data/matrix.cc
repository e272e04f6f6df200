#include "services/recommender/data/matrix.h"

#include <algorithm>

namespace marketlens::recommender {

float CsrMatrix::At(int32_t r, int32_t c) const {
  auto begin = indices.begin() + indptr[r], end = indices.begin() + indptr[r + 1];
  auto it = std::lower_bound(begin, end, c);
  if (it == end || *it != c) return 0;
  return values[it - indices.begin()];
}

CsrMatrix CsrMatrix::Transpose() const {
  CsrMatrix t;
  t.rows = cols;
  t.cols = rows;
  t.indptr.assign(cols + 1, 0);
  for (int32_t c : indices) ++t.indptr[c + 1];
  for (int32_t c = 0; c < cols; ++c) t.indptr[c + 1] += t.indptr[c];
  t.indices.resize(indices.size());
  t.values.resize(values.size());
  std::vector<int64_t> next(t.indptr.begin(), t.indptr.end() - 1);
  for (int32_t r = 0; r < rows; ++r) {  // rows in order: each transposed row comes out sorted
    for (int64_t k = indptr[r]; k < indptr[r + 1]; ++k) {
      int64_t pos = next[indices[k]]++;
      t.indices[pos] = r;
      t.values[pos] = values[k];
    }
  }
  return t;
}

CsrMatrix CsrMatrix::FromTriplets(int32_t rows, int32_t cols, std::vector<Triplet> triplets) {
  std::sort(triplets.begin(), triplets.end(), [](const Triplet& a, const Triplet& b) {
    return a.row != b.row ? a.row < b.row : a.col < b.col;
  });
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.assign(rows + 1, 0);
  m.indices.reserve(triplets.size());
  m.values.reserve(triplets.size());
  int32_t last_row = -1, last_col = -1;
  for (const Triplet& t : triplets) {
    if (t.row == last_row && t.col == last_col) {
      m.values.back() += t.value;
      continue;
    }
    m.indices.push_back(t.col);
    m.values.push_back(t.value);
    ++m.indptr[t.row + 1];
    last_row = t.row;
    last_col = t.col;
  }
  // Drop entries that summed to zero.
  int64_t write = 0;
  std::vector<int64_t> counts(rows + 1, 0);
  int64_t read = 0;
  for (int32_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < m.indptr[r + 1]; ++k, ++read) {
      if (m.values[read] == 0) continue;
      m.indices[write] = m.indices[read];
      m.values[write] = m.values[read];
      ++write;
      ++counts[r + 1];
    }
  }
  m.indices.resize(write);
  m.values.resize(write);
  for (int32_t r = 0; r < rows; ++r) counts[r + 1] += counts[r];
  m.indptr = std::move(counts);
  return m;
}

}  // namespace marketlens::recommender
