#include "services/recommender/serving/online_state.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

TEST(OnlineStateTest, RecordsEventsExclusionsAndPurchases) {
  OnlineState s({.max_events_per_user = 3});
  EXPECT_TRUE(s.Record("u", "a", EventType::kView, 1));
  s.Record("u", "b", EventType::kPurchase, 2);
  s.Record("u", "c", EventType::kDoNotShow, 3);
  s.Record("u", "d", EventType::kSkip, 4);
  UserOverlay o = s.Get("u");
  ASSERT_EQ(o.events.size(), 2u);
  EXPECT_TRUE(o.bought.contains("b"));
  EXPECT_TRUE(o.do_not_show.contains("c"));
  for (int k = 0; k < 5; ++k) s.Record("u", absl::StrCat("x", k), EventType::kClick, 10 + k);
  o = s.Get("u");
  ASSERT_EQ(o.events.size(), 3u);  // bounded, newest kept
  EXPECT_EQ(o.events.back().item_id, "x4");
  EXPECT_TRUE(s.HasOverlay("u"));
  EXPECT_FALSE(s.HasOverlay("nobody"));
  EXPECT_TRUE(s.Get("nobody").empty());
}

TEST(OnlineStateTest, ForgetErasesAndRefusesMore) {
  OnlineState s;
  s.Record("u", "a", EventType::kView, 1);
  s.Forget("u");
  EXPECT_TRUE(s.IsForgotten("u"));
  EXPECT_TRUE(s.Get("u").empty());
  EXPECT_FALSE(s.Record("u", "a", EventType::kView, 2));
  EXPECT_TRUE(s.Get("u").empty());
  s.AddForgotten({"v", "w"});
  EXPECT_TRUE(s.IsForgotten("w"));
}

TEST(OnlineStateTest, EvictsLeastRecentlyUpdatedUsers) {
  OnlineState s({.max_users = 160});  // 10 per shard
  for (int u = 0; u < 2000; ++u) s.Record(absl::StrCat("user", u), "a", EventType::kView, u);
  EXPECT_LE(s.users(), 16u * 11);
  EXPECT_TRUE(s.HasOverlay("user1999"));  // the newest survive
}

}  // namespace
}  // namespace marketlens::recommender
