#include "services/recommender/data/synthetic.h"

#include "gtest/gtest.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {
namespace {

TEST(SyntheticTest, DeterministicAndClustered) {
  SyntheticOptions o{.users = 100, .items = 50, .clusters = 5, .events_per_user = 10};
  SyntheticData a = GenerateSynthetic(o), b = GenerateSynthetic(o);
  EXPECT_EQ(FormatUData(a.log), FormatUData(b.log));
  EXPECT_EQ(a.catalog.size(), 50u);
  int in = 0;
  for (const Event& e : a.log.events) in += a.user_cluster[e.user] == a.item_cluster[e.item];
  EXPECT_GT(in, 0.8 * a.log.events.size());
  EXPECT_EQ(SyntheticItemCluster("i17", 5), 2);
  EXPECT_EQ(a.catalog.at("i17").category, "cat2");

  o.shop_events = true;
  SyntheticData shop = GenerateSynthetic(o);
  int purchases = 0;
  for (const Event& e : shop.log.events) purchases += e.type == EventType::kPurchase;
  EXPECT_GT(purchases, 0);
  EXPECT_GT(shop.log.sessions.size(), 0);
}

}  // namespace
}  // namespace marketlens::recommender
