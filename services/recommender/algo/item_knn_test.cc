#include "services/recommender/algo/item_knn.h"

#include <cmath>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

// 3 users x 3 items:  u0: a b   u1: a b c   u2: c
TrainingData Tiny() {
  InteractionLog log;
  log.Add("u0", "a", EventType::kView, 1, 1);
  log.Add("u0", "b", EventType::kView, 1, 2);
  log.Add("u1", "a", EventType::kView, 1, 3);
  log.Add("u1", "b", EventType::kView, 1, 4);
  log.Add("u1", "c", EventType::kView, 1, 5);
  log.Add("u2", "c", EventType::kView, 1, 6);
  return BuildTrainingData(log);
}

TEST(ItemKnnTest, CosineByHand) {
  TrainingData d = Tiny();
  ItemKnnModel knn({.neighbors = 5, .threads = 1});
  ASSERT_THAT(knn.Fit(d), IsOk());
  const int a = d.items.Find("a"), b = d.items.Find("b"), c = d.items.Find("c");
  // a = (1,1,0), b = (1,1,0), c = (0,1,1): cos(a,b) = 1, cos(a,c) = 1/2.
  const NeighborLists& n = knn.neighbors();
  ASSERT_EQ(n.RowSize(a), 2);
  EXPECT_EQ(n.RowIndices(a)[0], b);
  EXPECT_FLOAT_EQ(n.RowValues(a)[0], 1.0f);
  EXPECT_EQ(n.RowIndices(a)[1], c);
  EXPECT_FLOAT_EQ(n.RowValues(a)[1], 0.5f);
  // A user who has only a: score(b) = 1, score(c) = 0.5.
  std::vector<float> s(3);
  std::vector<int32_t> items = {a};
  std::vector<float> w = {1};
  knn.Score(-1, {items, w}, absl::MakeSpan(s));
  EXPECT_FLOAT_EQ(s[b], 1.0f);
  EXPECT_FLOAT_EQ(s[c], 0.5f);

  // Shrinkage: cos(a,c) = 1 / (sqrt2 * sqrt2 + 2) = 0.25.
  ItemKnnModel shrunk({.neighbors = 5, .shrink = 2, .threads = 1});
  ASSERT_THAT(shrunk.Fit(d), IsOk());
  EXPECT_FLOAT_EQ(shrunk.neighbors().RowValues(a)[1], 0.25f);

  // Keeps only k neighbours.
  ItemKnnModel one({.neighbors = 1, .threads = 1});
  ASSERT_THAT(one.Fit(d), IsOk());
  EXPECT_EQ(one.neighbors().RowSize(a), 1);
}

TEST(ItemKnnTest, Bm25RecoversClusters) {
  SyntheticData s = GenerateSynthetic({.users = 300, .items = 100, .clusters = 5, .events_per_user = 15});
  TrainingData d = BuildTrainingData(s.log);
  for (bool bm25 : {false, true}) {
    ItemKnnModel knn({.neighbors = 20, .bm25 = bm25, .threads = 2});
    ASSERT_THAT(knn.Fit(d), IsOk());
    EXPECT_EQ(knn.name(), bm25 ? "item_knn_bm25" : "item_knn");
    // Most of an item's nearest neighbours share its cluster.
    int same = 0, total = 0;
    for (int32_t i = 0; i < d.num_items(); ++i) {
      auto idx = knn.neighbors().RowIndices(i);
      for (size_t m = 0; m < std::min<size_t>(5, idx.size()); ++m) {
        same += SyntheticItemCluster(d.items.Name(idx[m]), 5) == SyntheticItemCluster(d.items.Name(i), 5);
        ++total;
      }
    }
    EXPECT_GT(static_cast<double>(same) / total, 0.8) << "bm25=" << bm25;
  }
}

}  // namespace
}  // namespace marketlens::recommender
