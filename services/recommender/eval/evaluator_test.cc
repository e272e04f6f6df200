// The evaluator on planted-cluster data: personalised models beat the popularity baseline, and the counts
// (cold users, unknown items, hygiene) are reported.
#include "services/recommender/eval/evaluator.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/data/synthetic.h"
#include "services/recommender/eval/split.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(EvaluatorTest, PersonalisedModelsBeatPopularity) {
  SyntheticData s = GenerateSynthetic({.users = 400, .items = 120, .clusters = 6, .events_per_user = 20});
  Split split = TemporalLeaveLastN(s.log, 3);
  EvalOptions options{.k = 10, .threads = 2};
  options.hygiene.min_user_interactions = 3;
  options.hygiene.min_item_interactions = 3;
  auto data = PrepareEvaluation(split.train, split.test, &s.catalog, options);
  ASSERT_THAT(data, IsOk());
  EXPECT_GT(data->eval_users.size(), 300u);
  auto results = EvaluateAlgorithms(*data,
                                    {{"popularity", {}},
                                     {"item_knn", {}},
                                     {"ease", {}},
                                     {"als", {{"factors", "16"}, {"iterations", "8"}}},
                                     {"content", {}},
                                     {"hybrid", {{"als.factors", "16"}, {"als.iterations", "8"}}}},
                                    options);
  ASSERT_EQ(results.size(), 6u);
  for (const auto& r : results) {
    ASSERT_THAT(r.status, IsOk()) << r.name << ": " << r.status;
    EXPECT_EQ(r.metrics.users, static_cast<int64_t>(data->eval_users.size()));
  }
  const double pop = results[0].metrics.ndcg;
  for (size_t i = 1; i < results.size(); ++i) {
    EXPECT_GT(results[i].metrics.ndcg, pop * 1.2) << results[i].name;
    EXPECT_GT(results[i].metrics.coverage, results[0].metrics.coverage) << results[i].name;
  }
  // Popularity recommends nearly the same list to everyone: lowest novelty.
  EXPECT_LT(results[0].metrics.novelty, results[3].metrics.novelty);
}

TEST(EvaluatorTest, CountsColdUsersUnknownItemsAndSeenItems) {
  InteractionLog train, test;
  for (int u = 0; u < 3; ++u) {
    for (const char* i : {"a", "b", "c"}) train.Add("u" + std::to_string(u), i, EventType::kView, 1, u);
  }
  test.Add("u0", "a", EventType::kView, 1, 10);    // already in training: not relevant
  test.Add("u0", "new", EventType::kView, 1, 10);  // unknown item: relevant, never hit
  test.Add("u1", "b", EventType::kRating, 2, 10);  // below the relevance threshold
  test.Add("u1", "zz", EventType::kRating, 5, 10);
  test.Add("stranger", "a", EventType::kView, 1, 10);
  EvalOptions options{.k = 2, .relevance_min_rating = 4, .threads = 1};
  options.hygiene.min_user_interactions = 1;
  options.hygiene.min_item_interactions = 1;
  auto data = PrepareEvaluation(train, test, nullptr, options);
  ASSERT_THAT(data, IsOk());
  EXPECT_EQ(data->test_users, 3);
  EXPECT_EQ(data->cold_test_users, 1);
  EXPECT_EQ(data->eval_users.size(), 2u);
  EXPECT_EQ(data->test_pairs, 2);
  EXPECT_EQ(data->unknown_item_pairs, 2);

  InteractionLog unrelated;
  unrelated.Add("x", "y", EventType::kView, 1, 0);
  EXPECT_EQ(PrepareEvaluation(train, unrelated, nullptr, options).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PrepareEvaluation(train, test, nullptr, {.k = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EvaluatorTest, UnfittableAlgorithmsAreReportedNotFatal) {
  SyntheticData s = GenerateSynthetic({.users = 100, .items = 50, .clusters = 5, .events_per_user = 10});
  Split split = RandomPerUser(s.log, 0.2, 1);
  EvalOptions options{.k = 5, .threads = 1};
  options.hygiene.min_user_interactions = 2;
  options.hygiene.min_item_interactions = 2;
  auto data = PrepareEvaluation(split.train, split.test, nullptr, options);
  ASSERT_THAT(data, IsOk());
  auto results =
      EvaluateAlgorithms(*data, {{"content", {}}, {"ease", {{"max_items", "10"}}}, {"bogus", {}}}, options);
  EXPECT_EQ(results[0].status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(results[1].status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(results[2].status.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::recommender
