#include "services/recommender/eval/tuning.h"

#include "gtest/gtest.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

TEST(TuningTest, ExpandGrid) {
  auto all = ExpandGrid({{"a", {"1", "2"}}, {"b", {"x", "y", "z"}}}, {{"c", "keep"}});
  ASSERT_EQ(all.size(), 6u);
  for (const Params& p : all) EXPECT_EQ(p.at("c"), "keep");
  EXPECT_EQ(ExpandGrid({}).size(), 1u);
  EXPECT_EQ(ExpandGrid(DefaultGrid("als")).size(), 27u);
  EXPECT_TRUE(DefaultGrid("popularity").empty());
}

TEST(TuningTest, PicksTheBestCandidateOnValidationOnly) {
  SyntheticData s = GenerateSynthetic({.users = 300, .items = 100, .clusters = 5, .events_per_user = 15});
  EvalOptions eval{.k = 10, .threads = 2};
  eval.hygiene.min_user_interactions = 2;
  eval.hygiene.min_item_interactions = 2;
  auto result = Tune("item_knn", s.log, nullptr, {}, eval, {.max_trials = 4});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->trials.size(), 4u);  // random search: 4 of the 9 grid points
  for (const Trial& t : result->trials) {
    ASSERT_TRUE(t.status.ok());
    EXPECT_LE(t.ndcg, result->best_ndcg);
  }
  EXPECT_TRUE(result->best.count("neighbors"));
  // Nothing to tune: the base comes back without trials.
  auto none = Tune("popularity", s.log, nullptr, {{"window_days", "0"}}, eval);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->trials.empty());
  EXPECT_EQ(none->best.at("window_days"), "0");
}

}  // namespace
}  // namespace marketlens::recommender
