#include "services/recommender/algo/copurchase.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(CoPurchaseTest, LiftByHand) {
  // Sessions (baskets of purchases): {a,b} x3, {a,c}, {c,d} x2, {b} (singletons don't count).
  InteractionLog log;
  int s = 0;
  auto basket = [&](std::vector<const char*> items) {
    const std::string session = "s" + std::to_string(++s);
    for (const char* i : items)
      log.Add("u" + std::to_string(s), i, EventType::kPurchase, 1, s * 100, session);
    log.Add("u" + std::to_string(s), "z", EventType::kView, 1, s * 100, session);  // views are ignored
  };
  basket({"a", "b"});
  basket({"a", "b"});
  basket({"a", "b"});
  basket({"a", "c"});
  basket({"c", "d"});
  basket({"c", "d"});
  basket({"b"});
  TrainingData d = BuildTrainingData(log);
  CoPurchaseModel m({.min_support = 2, .shrink = 0, .threads = 1});
  ASSERT_THAT(m.Fit(d), IsOk());
  EXPECT_EQ(m.basket_used(), BasketBy::kSession);
  EXPECT_EQ(m.baskets(), 6);
  const int a = d.items.Find("a"), b = d.items.Find("b"), c = d.items.Find("c"), dd = d.items.Find("d");
  // N = 6 baskets; c_a = 4, c_b = 3, c_ab = 3 -> lift = 3*6/(4*3) = 1.5. c_c = 3, c_d = 2, c_cd = 2 -> 2.
  // a-c was bought together once: under min_support.
  const NeighborLists& n = m.neighbors();
  ASSERT_EQ(n.RowSize(a), 1);
  EXPECT_EQ(n.RowIndices(a)[0], b);
  EXPECT_FLOAT_EQ(n.RowValues(a)[0], 1.5f);
  ASSERT_EQ(n.RowSize(dd), 1);
  EXPECT_EQ(n.RowIndices(dd)[0], c);
  EXPECT_FLOAT_EQ(n.RowValues(dd)[0], 2.0f);
  // Shrinkage: 1.5 * 3 / (3 + 3).
  CoPurchaseModel shrunk({.min_support = 2, .shrink = 3, .threads = 1});
  ASSERT_THAT(shrunk.Fit(d), IsOk());
  EXPECT_FLOAT_EQ(shrunk.neighbors().RowValues(a)[0], 0.75f);
  // Scoring from a cart holding d.
  std::vector<float> scores(d.num_items());
  std::vector<int32_t> items = {dd};
  std::vector<float> w = {1};
  m.Score(-1, {items, w}, absl::MakeSpan(scores));
  EXPECT_FLOAT_EQ(scores[c], 2.0f);
  EXPECT_FLOAT_EQ(scores[a], 0.0f);
}

TEST(CoPurchaseTest, WithoutSessionsOrPurchasesUsesUsersAndAllEvents) {
  InteractionLog log;
  for (int u = 0; u < 3; ++u) {
    log.Add("u" + std::to_string(u), "x", EventType::kRating, 5, u);
    log.Add("u" + std::to_string(u), "y", EventType::kRating, 4, u);
  }
  TrainingData d = BuildTrainingData(log);
  CoPurchaseModel m({.threads = 1});
  ASSERT_THAT(m.Fit(d), IsOk());
  EXPECT_EQ(m.basket_used(), BasketBy::kUser);
  EXPECT_EQ(m.neighbors().RowSize(d.items.Find("x")), 1);
}

}  // namespace
}  // namespace marketlens::recommender
