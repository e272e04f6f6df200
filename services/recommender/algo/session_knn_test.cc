#include "services/recommender/algo/session_knn.h"

#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

TEST(SessionKnnTest, NeighbourSessionsVoteAndRecentItemsWeighMore) {
  // Items 0..5. Sessions: {0,1,2} x3, {3,4,5} x3, and {0,4} once.
  std::vector<SessionSequence> sessions;
  for (int n = 0; n < 3; ++n) sessions.push_back({{0, 1, 2}, 100 + n});
  for (int n = 0; n < 3; ++n) sessions.push_back({{3, 4, 5}, 200 + n});
  sessions.push_back({{0, 4}, 300});
  SessionKnn knn({.neighbors = 10, .sample = 100});
  knn.Fit(sessions, 6);
  std::vector<float> s(6);
  knn.Score(std::vector<int32_t>{0}, -1, absl::MakeSpan(s));
  EXPECT_GT(s[1], s[4]);
  EXPECT_GT(s[2], s[5]);
  // The session went 0 then 3: the latest item (3) weighs more, so its neighbours (4, 5) lead.
  knn.Score(std::vector<int32_t>{0, 3}, -1, absl::MakeSpan(s));
  EXPECT_GT(s[5], s[1]);
  ItemToItem last(true);
  last.Fit(sessions, 6);
  last.Score(std::vector<int32_t>{0, 3}, absl::MakeSpan(s));
  EXPECT_EQ(s[1], 0);  // only the last item's neighbours
  EXPECT_GT(s[4], 0);
}

}  // namespace
}  // namespace marketlens::recommender
