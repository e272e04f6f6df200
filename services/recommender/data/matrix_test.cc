#include "services/recommender/data/matrix.h"

#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

TEST(CsrMatrixTest, FromTripletsSumsDuplicatesSortsAndDropsZeros) {
  CsrMatrix m =
      CsrMatrix::FromTriplets(3, 4, {{2, 3, 1}, {0, 2, 1}, {0, 1, 2}, {0, 2, 1.5}, {1, 0, 1}, {1, 0, -1}});
  EXPECT_EQ(m.nnz(), 3);
  EXPECT_EQ(m.RowSize(0), 2);
  EXPECT_EQ(m.RowSize(1), 0);  // summed to zero
  EXPECT_EQ(m.RowIndices(0)[0], 1);
  EXPECT_EQ(m.RowIndices(0)[1], 2);
  EXPECT_FLOAT_EQ(m.At(0, 2), 2.5f);
  EXPECT_FLOAT_EQ(m.At(2, 3), 1.0f);
  EXPECT_FLOAT_EQ(m.At(2, 2), 0.0f);
}

TEST(CsrMatrixTest, TransposeTwiceIsIdentity) {
  CsrMatrix m = CsrMatrix::FromTriplets(3, 4, {{0, 1, 1}, {0, 3, 2}, {1, 1, 3}, {2, 0, 4}, {2, 3, 5}});
  CsrMatrix t = m.Transpose();
  EXPECT_EQ(t.rows, 4);
  EXPECT_EQ(t.cols, 3);
  EXPECT_FLOAT_EQ(t.At(1, 1), 3.0f);
  EXPECT_FLOAT_EQ(t.At(3, 2), 5.0f);
  EXPECT_EQ(t.RowIndices(3)[0], 0);  // sorted
  EXPECT_EQ(t.RowIndices(3)[1], 2);
  CsrMatrix back = t.Transpose();
  EXPECT_EQ(back.indptr, m.indptr);
  EXPECT_EQ(back.indices, m.indices);
  EXPECT_EQ(back.values, m.values);
}

}  // namespace
}  // namespace marketlens::recommender
