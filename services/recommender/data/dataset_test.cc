#include "services/recommender/data/dataset.h"

#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

TEST(DatasetTest, WeightsSumPerPairAndCap) {
  InteractionLog log;
  log.Add("u", "a", EventType::kView, 1, 1);
  log.Add("u", "a", EventType::kAddToCart, 1, 2);
  log.Add("u", "a", EventType::kPurchase, 1, 3);
  log.Add("u", "b", EventType::kSkip, 1, 4);    // no positive signal: not in the matrix
  log.Add("v", "b", EventType::kRating, 2, 5);  // under min_rating
  log.Add("v", "c", EventType::kRating, 5, 6);
  for (int k = 0; k < 10; ++k) log.Add("v", "d", EventType::kPurchase, 1, 10 + k);
  BuildOptions options;
  options.weights.min_rating = 3;
  ItemCatalog catalog;
  catalog["a"].category = "Kitchen";
  catalog["new"].category = "Garden";
  options.include_catalog_items = true;
  TrainingData d = BuildTrainingData(log, options, &catalog);
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 5);  // a b c d + catalog-only "new"
  const int u = d.users.Find("u"), v = d.users.Find("v");
  EXPECT_FLOAT_EQ(d.user_items.At(u, d.items.Find("a")), 1 + 4 + 8);
  EXPECT_FLOAT_EQ(d.user_items.At(u, d.items.Find("b")), 0);
  EXPECT_FLOAT_EQ(d.user_items.At(v, d.items.Find("b")), 0);
  EXPECT_FLOAT_EQ(d.user_items.At(v, d.items.Find("c")), 5);
  EXPECT_FLOAT_EQ(d.user_items.At(v, d.items.Find("d")), 20);  // capped
  EXPECT_EQ(d.user_items.nnz(), 3);
  EXPECT_EQ(d.item_users.rows, 5);
  EXPECT_TRUE(d.has_item_info);
  EXPECT_EQ(d.Category(d.items.Find("a")), "Kitchen");
  EXPECT_EQ(d.Category(d.items.Find("new")), "Garden");
  EXPECT_EQ(d.time_from, 1);
  EXPECT_EQ(d.time_to, 19);
}

}  // namespace
}  // namespace marketlens::recommender
