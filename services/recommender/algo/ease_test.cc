#include "services/recommender/algo/ease.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(EaseTest, ClosedFormByHand) {
  // X = [[1,1,0],[1,1,1],[0,0,1]] -> G = X^T X = [[2,2,1],[2,2,1],[1,1,2]], lambda = 1.
  InteractionLog log;
  for (auto [u, i] : std::vector<std::pair<const char*, const char*>>{
           {"u0", "a"}, {"u0", "b"}, {"u1", "a"}, {"u1", "b"}, {"u1", "c"}, {"u2", "c"}}) {
    log.Add(u, i, EventType::kView, 1, 0);
  }
  TrainingData d = BuildTrainingData(log);
  EaseModel ease({.lambda = 1, .threads = 1});
  ASSERT_THAT(ease.Fit(d), IsOk());
  Eigen::Matrix3d g;
  g << 3, 2, 1, 2, 3, 1, 1, 1, 3;
  Eigen::Matrix3d p = g.inverse();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double expected = i == j ? 0 : -p(i, j) / p(j, j);
      EXPECT_NEAR(ease.weights()(i, j), expected, 1e-5) << i << "," << j;
    }
  }
  std::vector<float> s(3);
  std::vector<int32_t> items = {0};
  std::vector<float> w = {1};
  ease.Score(-1, {items, w}, absl::MakeSpan(s));
  EXPECT_FLOAT_EQ(s[1], ease.weights()(0, 1));
  EXPECT_GT(s[1], s[2]);  // b co-occurs with a more than c does
}

TEST(EaseTest, RefusesLargeCatalogues) {
  SyntheticData s = GenerateSynthetic({.users = 50, .items = 60, .clusters = 3, .events_per_user = 5});
  TrainingData d = BuildTrainingData(s.log);
  EXPECT_EQ(EaseModel({.max_items = 10}).Fit(d).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(EaseModel({.lambda = 0}).Fit(d).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::recommender
