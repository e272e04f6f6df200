#include "services/recommender/data/hygiene.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

// n users each with `per_user` distinct items out of `items`.
InteractionLog Grid(int users, int items, int per_user) {
  InteractionLog log;
  for (int u = 0; u < users; ++u) {
    for (int k = 0; k < per_user; ++k) {
      log.Add(absl::StrCat("u", u), absl::StrCat("i", (u + k) % items), EventType::kView, 1,
              1000 + u * 100000 + k * 600);
    }
  }
  return log;
}

TEST(HygieneTest, CollapsesDuplicates) {
  InteractionLog log;
  log.Add("u", "a", EventType::kView, 1, 100);
  log.Add("u", "a", EventType::kView, 1, 100);  // same second: duplicate
  log.Add("u", "a", EventType::kView, 1, 101);  // within the 1 s window: duplicate
  log.Add("u", "a", EventType::kView, 1, 500);  // later: a new view
  log.Add("u", "a", EventType::kPurchase, 1, 101);
  log.Add("u", "b", EventType::kRating, 2, 10);
  log.Add("u", "b", EventType::kRating, 5, 900);  // re-rating: the latest wins
  HygieneReport report;
  InteractionLog out = Clean(log, {.min_user_interactions = 0, .min_item_interactions = 0}, &report);
  EXPECT_EQ(report.duplicate_events, 3);
  EXPECT_EQ(out.events.size(), 4u);
  for (const Event& e : out.events) {
    if (e.type == EventType::kRating) {
      EXPECT_EQ(e.value, 5);
      EXPECT_EQ(e.timestamp, 900);
    }
  }
  // Sorted by (user, time).
  for (size_t i = 1; i < out.events.size(); ++i)
    EXPECT_LE(out.events[i - 1].timestamp, out.events[i].timestamp);
}

TEST(HygieneTest, ExcludesAndCountsBots) {
  InteractionLog log = Grid(10, 20, 6);
  // A bot: 500 views in 50 seconds.
  for (int k = 0; k < 500; ++k) log.Add("bot", absl::StrCat("i", k % 20), EventType::kView, 1, 5000 + k / 10);
  // A power user spreading 400 events over days is not a bot.
  for (int k = 0; k < 400; ++k)
    log.Add("fan", absl::StrCat("i", k % 20), EventType::kView, 1, 9000 + k * 120);
  HygieneReport report;
  InteractionLog out =
      Clean(log, {.min_user_interactions = 1, .min_item_interactions = 1, .bot_max_events_per_minute = 100},
            &report);
  EXPECT_EQ(report.bot_users, 1);
  EXPECT_EQ(report.bot_events, 500);  // after duplicate collapse nothing of it was a duplicate
  EXPECT_FALSE(out.users.Contains("bot"));
  EXPECT_TRUE(out.users.Contains("fan"));

  HygieneReport capped;
  Clean(log,
        {.min_user_interactions = 1,
         .min_item_interactions = 1,
         .bot_max_events_per_minute = 0,
         .bot_max_events = 300},
        &capped);
  EXPECT_EQ(capped.bot_users, 2);
}

TEST(HygieneTest, MinimumCountsIterateToAKCore) {
  InteractionLog log;
  // A 3x3 dense block: every user has 3 items, every item 3 users.
  for (int u = 0; u < 3; ++u)
    for (int i = 0; i < 3; ++i)
      log.Add(absl::StrCat("u", u), absl::StrCat("i", i), EventType::kView, 1, u * 10 + i);
  // "x" has 3 items but one of them ("rare") has only x: removing rare leaves x with 2 -> x goes too.
  log.Add("x", "i0", EventType::kView, 1, 100);
  log.Add("x", "i1", EventType::kView, 1, 101);
  log.Add("x", "rare", EventType::kView, 1, 102);
  // Negative events do not count towards the minimum.
  log.Add("neg", "i0", EventType::kSkip, 1, 200);
  log.Add("neg", "i1", EventType::kDoNotShow, 1, 201);
  log.Add("neg", "i2", EventType::kSkip, 1, 202);
  HygieneReport report;
  InteractionLog out = Clean(log, {.min_user_interactions = 3, .min_item_interactions = 3}, &report);
  EXPECT_EQ(out.users.size(), 3);
  EXPECT_EQ(out.items.size(), 3);
  EXPECT_FALSE(out.users.Contains("x"));
  EXPECT_FALSE(out.users.Contains("neg"));
  EXPECT_FALSE(out.items.Contains("rare"));
  EXPECT_EQ(report.users_dropped, 2);
  EXPECT_EQ(report.items_dropped, 1);
  EXPECT_EQ(report.min_count_events, 6);
  EXPECT_GE(report.core_iterations, 2);
  EXPECT_EQ(report.output_events, 9);
  EXPECT_FALSE(report.ToString().empty());
}

TEST(HygieneTest, ExcludedUsersAreDropped) {
  InteractionLog log = Grid(5, 10, 5);
  HygieneOptions options{.min_user_interactions = 1, .min_item_interactions = 1};
  options.excluded_users.insert("u2");
  HygieneReport report;
  InteractionLog out = Clean(log, options, &report);
  EXPECT_FALSE(out.users.Contains("u2"));
  EXPECT_EQ(report.excluded_user_events, 5);
  EXPECT_EQ(out.users.size(), 4);
}

}  // namespace
}  // namespace marketlens::recommender
