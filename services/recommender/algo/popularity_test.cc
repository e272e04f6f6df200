#include "services/recommender/algo/popularity.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(PopularityTest, DistinctUsersWindowAndCategory) {
  InteractionLog log;
  const int64_t day = 86400;
  // old: 3 users long ago; fresh: 2 users in the last week; k2: 1 user recently (Kitchen).
  for (int u = 0; u < 3; ++u) {
    log.Add("u" + std::to_string(u), "old", EventType::kView, 1, 0);
    log.Add("u" + std::to_string(u), "old", EventType::kView, 1, 10);  // same user again: counted once
  }
  log.Add("u0", "fresh", EventType::kView, 1, 30 * day);
  log.Add("u1", "fresh", EventType::kPurchase, 1, 30 * day);
  log.Add("u2", "k2", EventType::kView, 1, 29 * day);
  log.Add("u2", "old", EventType::kSkip, 1, 30 * day);  // negative: not counted
  ItemCatalog catalog;
  catalog["old"].category = "Garden";
  catalog["fresh"].category = "Garden";
  catalog["k2"].category = "Kitchen";
  TrainingData d = BuildTrainingData(log, {}, &catalog);
  const int old = d.items.Find("old"), fresh = d.items.Find("fresh"), k2 = d.items.Find("k2");

  PopularityModel all;
  ASSERT_THAT(all.Fit(d), IsOk());
  EXPECT_EQ(all.counts()[old], 3);
  EXPECT_EQ(all.counts()[fresh], 2);
  std::vector<float> s(3);
  all.Score(-1, {}, absl::MakeSpan(s));
  EXPECT_FLOAT_EQ(s[old], 1.0f);
  EXPECT_NEAR(s[fresh], 2.0 / 3, 1e-6);

  PopularityModel week({.window_seconds = 7 * day});
  ASSERT_THAT(week.Fit(d), IsOk());
  EXPECT_EQ(week.name(), "popularity_window");
  EXPECT_EQ(week.counts()[old], 0);
  EXPECT_EQ(week.counts()[fresh], 2);
  EXPECT_EQ(week.counts()[k2], 1);

  PopularityModel cat({.by_category = true});
  ASSERT_THAT(cat.Fit(d), IsOk());
  std::vector<int32_t> items = {k2};
  std::vector<float> w = {1};
  cat.Score(-1, {items, w}, absl::MakeSpan(s));  // a Kitchen shopper: Kitchen first
  EXPECT_GT(s[k2], s[old]);
  EXPECT_GT(s[old], s[fresh]);
}

}  // namespace
}  // namespace marketlens::recommender
