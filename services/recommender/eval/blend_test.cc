// The learned blend's cross-fitting on planted taste clusters: folds are pooled, the kept weights are never
// worse than any member on the pooled validation users, and the optional guard falls back to the best
// member alone when the blend's gain is not clear enough.
#include "services/recommender/eval/blend.h"

#include <memory>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/data/synthetic.h"
#include "services/recommender/eval/split.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

class BlendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    synthetic_ = GenerateSynthetic({.users = 300, .items = 80, .clusters = 4, .events_per_user = 12});
    Split split = RandomPerUser(synthetic_.log, 0.25, 1);
    auto test = PrepareEvaluation(split.train, split.test, nullptr, eval_);
    ASSERT_THAT(test, IsOk());
    test_ = std::make_unique<EvalData>(*std::move(test));
    auto folds = BlendValidationFolds(split.train, nullptr, eval_, 3);
    ASSERT_THAT(folds, IsOk());
    folds_ = *std::move(folds);
  }
  std::vector<const EvalData*> Views() const {
    std::vector<const EvalData*> v;
    for (const EvalData& f : folds_) v.push_back(&f);
    return v;
  }

  EvalOptions eval_{.k = 10, .threads = 2};
  SyntheticData synthetic_;
  std::unique_ptr<EvalData> test_;
  std::vector<EvalData> folds_;
  const std::vector<std::pair<std::string, Params>> members_ = {
      {"popularity", {}}, {"item_knn", {}}, {"als", {{"factors", "8"}, {"iterations", "5"}}}};
};

TEST_F(BlendTest, CrossFittedWeightsPoolEveryFold) {
  ASSERT_EQ(folds_.size(), 3u);
  int64_t users = 0;
  for (const EvalData& f : folds_) users += static_cast<int64_t>(f.eval_users.size());
  // Different seeds: the folds hold out different pairs.
  EXPECT_NE(folds_[0].relevant, folds_[1].relevant);
  auto r = EvaluateLearnedHybrid(members_, Views(), *test_, eval_);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->fit.folds, 3);
  EXPECT_EQ(r->fit.validation_users, users);
  ASSERT_EQ(r->fit.weights.size(), 3u);
  for (size_t j = 0; j < 3; ++j) {
    EXPECT_GE(r->fit.weights[j], 0);
    EXPECT_GE(r->fit.ndcg, r->fit.member_ndcg[j]);
  }
  EXPECT_FALSE(r->fit.fell_back);
  EXPECT_EQ(r->result.params.at("blend_folds"), "3");
  EXPECT_GT(r->result.metrics.ndcg, 0);
  // The planted clusters are collaborative signal: the blend leans on a collaborative member, not popularity.
  EXPECT_NE(r->members[r->fit.best_member], "popularity");
}

TEST_F(BlendTest, GuardFallsBackToTheBestMemberAlone) {
  BlendOptions strict;
  strict.min_gain_se = 1e9;  // no blend can be this clearly better
  auto r = EvaluateLearnedHybrid(members_, Views(), *test_, eval_, strict);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->fit.fell_back);
  for (size_t j = 0; j < r->fit.weights.size(); ++j) {
    EXPECT_EQ(r->fit.weights[j], static_cast<int>(j) == r->fit.best_member ? 1.0f : 0.0f);
  }
  EXPECT_EQ(r->fit.ndcg, r->fit.member_ndcg[r->fit.best_member]);
  EXPECT_EQ(r->result.params.at("blend_fell_back_to"), r->members[r->fit.best_member]);
  EXPECT_FALSE(BlendValidationFolds(synthetic_.log, nullptr, eval_, 0).ok());
}

}  // namespace
}  // namespace marketlens::recommender
