#include "services/recommender/eval/tuning.h"

#include <algorithm>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(TuningTest, ExpandGrid) {
  auto all = ExpandGrid({{"a", {"1", "2"}}, {"b", {"x", "y", "z"}}}, {{"c", "keep"}});
  ASSERT_EQ(all.size(), 6u);
  for (const Params& p : all) EXPECT_EQ(p.at("c"), "keep");
  EXPECT_EQ(ExpandGrid({}).size(), 1u);
  EXPECT_EQ(ExpandGrid(DefaultGrid("als")).size(), 27u);
  EXPECT_TRUE(DefaultGrid("popularity").empty());
}

TEST(TuningTest, SampleSpaceCoversWideRangesOnLogScales) {
  const SearchSpace als = DefaultSpace("als");
  auto points = SampleSpace(als, 64, 5, {{"iterations", "10"}});
  ASSERT_EQ(points.size(), 64u);
  int small = 0, large = 0, low_reg = 0, high_reg = 0;
  for (const Params& p : points) {
    EXPECT_EQ(p.at("iterations"), "10");  // fixed by the base, not searched
    const int f = std::stoi(p.at("factors"));
    const double reg = std::stod(p.at("regularization"));
    EXPECT_GE(f, 16);
    EXPECT_LE(f, 256);
    EXPECT_GE(reg, 1e-3 * 0.999);
    EXPECT_LE(reg, 100 * 1.001);
    small += f < 32;
    large += f >= 128;
    low_reg += reg < 0.01;
    high_reg += reg > 10;
  }
  // Log-uniform over 16..256: a quarter below 32 and a quarter from 128; over 1e-3..1e2, a fifth per decade.
  EXPECT_GT(small, 10);
  EXPECT_GT(large, 10);
  EXPECT_GT(low_reg, 8);
  EXPECT_GT(high_reg, 8);
  EXPECT_NE(SampleSpace(als, 4, 1), SampleSpace(als, 4, 2));  // the seed changes the scramble
  EXPECT_EQ(SampleSpace(als, 4, 1), SampleSpace(als, 4, 1));
  const SearchSpace ease = DefaultSpace("ease");
  double max_lambda = 0;
  for (const Params& p : SampleSpace(ease, 20, 3))
    max_lambda = std::max(max_lambda, std::stod(p.at("lambda")));
  EXPECT_GT(max_lambda, 2000);  // reaches the 1e3..1e4 decade
}

TEST(TuningTest, SuccessiveHalvingRacesCandidatesOnValidationOnly) {
  SyntheticData s = GenerateSynthetic({.users = 300, .items = 100, .clusters = 5, .events_per_user = 15});
  EvalOptions eval{.k = 10, .threads = 2};
  eval.hygiene.min_user_interactions = 2;
  eval.hygiene.min_item_interactions = 2;
  auto result = Tune("item_knn", s.log, nullptr, {}, eval, {.max_trials = 9});
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->trials.size(), 9u + 3u + 1u);  // rungs of 9, 3 and 1 (eta = 3)
  EXPECT_EQ(result->best_rung, 2);
  int last_rung = 0;
  for (const Trial& t : result->trials) {
    ASSERT_THAT(t.status, IsOk());
    EXPECT_GE(t.rung, last_rung);  // rung by rung
    last_rung = t.rung;
  }
  EXPECT_EQ(result->trials.back().params, result->best);
  EXPECT_DOUBLE_EQ(result->trials.back().ndcg, result->best_ndcg);
  // The winner of the last rung was among the best third of the first rung.
  std::vector<double> first;
  double winner_first = -1;
  for (const Trial& t : result->trials) {
    if (t.rung != 0) continue;
    first.push_back(t.ndcg);
    if (t.params == result->best) winner_first = t.ndcg;
  }
  std::sort(first.rbegin(), first.rend());
  EXPECT_GE(winner_first, first[2]);
  EXPECT_TRUE(result->best.count("neighbors"));
  EXPECT_NE(DescribeTuning(*result, 10).find("neighbors="), std::string::npos);
  // Nothing to tune: the base comes back without trials.
  auto none = Tune("popularity", s.log, nullptr, {{"window_days", "0"}}, eval);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->trials.empty());
  EXPECT_EQ(none->best.at("window_days"), "0");
}

TEST(TuningTest, TimeBudgetStopsTheRace) {
  SyntheticData s = GenerateSynthetic({.users = 300, .items = 100, .clusters = 5, .events_per_user = 15});
  EvalOptions eval{.k = 10, .threads = 2};
  eval.hygiene.min_user_interactions = 2;
  eval.hygiene.min_item_interactions = 2;
  auto result = Tune("als", s.log, nullptr, {}, eval, {.max_trials = 27, .time_budget_seconds = 1e-9});
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->budget_exhausted);
  EXPECT_EQ(result->trials.size(), 1u);  // the first trial always runs, then the budget stops the race
  EXPECT_FALSE(result->best.empty());
}

}  // namespace
}  // namespace marketlens::recommender
