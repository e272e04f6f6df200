#include "services/recommender/eval/split.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

InteractionLog Log() {
  InteractionLog log;
  for (int u = 0; u < 20; ++u) {
    for (int i = 0; i < 10; ++i) {
      log.Add(absl::StrCat("u", u), absl::StrCat("i", i), EventType::kView, 1, 1000 * i + u);
      if (i == 3) log.Add(absl::StrCat("u", u), "i3", EventType::kPurchase, 1, 1000 * i + u + 1);
    }
  }
  log.Add("lonely", "i0", EventType::kView, 1, 5);
  return log;
}

absl::flat_hash_set<std::string> Pairs(const InteractionLog& log) {
  absl::flat_hash_set<std::string> out;
  for (const Event& e : log.events)
    out.insert(absl::StrCat(log.users.Name(e.user), "/", log.items.Name(e.item)));
  return out;
}

TEST(SplitTest, RandomPerUserKeepsPairsTogether) {
  InteractionLog log = Log();
  Split s = RandomPerUser(log, 0.2, 5);
  EXPECT_EQ(s.train.events.size() + s.test.events.size(), log.events.size());
  auto train = Pairs(s.train), test = Pairs(s.test);
  for (const auto& p : test) EXPECT_FALSE(train.contains(p)) << p;
  EXPECT_EQ(test.size(), 20u * 2);  // 20% of 10 pairs for each of the 20 users
  EXPECT_FALSE(s.test.users.Contains("lonely"));
  // Deterministic per seed.
  EXPECT_EQ(Pairs(RandomPerUser(log, 0.2, 5).test), test);
  EXPECT_NE(Pairs(RandomPerUser(log, 0.2, 6).test), test);
}

TEST(SplitTest, TemporalLeaveLastN) {
  Split s = TemporalLeaveLastN(Log(), 2);
  auto test = Pairs(s.test);
  EXPECT_EQ(test.size(), 40u);
  EXPECT_TRUE(test.contains("u0/i9"));
  EXPECT_TRUE(test.contains("u0/i8"));
  EXPECT_FALSE(test.contains("u0/i7"));
  EXPECT_FALSE(s.test.users.Contains("lonely"));
}

}  // namespace
}  // namespace marketlens::recommender
