// ALS recovers planted taste clusters, converges, folds in new users and is identical on 1 or 2 threads.
#include "services/recommender/algo/als.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

// Share of the top-10 recommendations (unseen items) that fall in the user's planted cluster.
double ClusterPrecision(const Model& m, const TrainingData& d, const SyntheticData& s) {
  std::vector<float> scores(d.num_items());
  int hits = 0, total = 0;
  for (int32_t u = 0; u < d.num_users(); ++u) {
    UserHistory h = HistoryOf(d, u);
    m.Score(u, h, absl::MakeSpan(scores));
    const int cluster = s.user_cluster[s.log.users.Find(d.users.Name(u))];
    for (const ScoredItem& r : TopN(scores, 10, h.items)) {
      hits += SyntheticItemCluster(d.items.Name(r.item), 5) == cluster;
      ++total;
    }
  }
  return static_cast<double>(hits) / total;
}

class AlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    synthetic_ = GenerateSynthetic({.users = 400,
                                    .items = 150,
                                    .clusters = 5,
                                    .events_per_user = 15,
                                    .in_cluster = 0.85,
                                    .shop_events = true});
    data_ = BuildTrainingData(synthetic_.log);
  }
  SyntheticData synthetic_;
  TrainingData data_;
};

TEST_F(AlsTest, RecoversPlantedClusters) {
  AlsModel als({.factors = 16, .regularization = 0.1f, .alpha = 2, .iterations = 10, .threads = 2});
  ASSERT_THAT(als.Fit(data_), IsOk());
  const double precision = ClusterPrecision(als, data_, synthetic_);
  // Random would be 0.2; the users' own data is 85% in-cluster.
  EXPECT_GT(precision, 0.85) << precision;
  EXPECT_EQ(als.iteration_seconds().size(), 10u);
}

TEST_F(AlsTest, LossDecreases) {
  AlsModel als({.factors = 8, .iterations = 6, .cg_steps = 3, .threads = 2, .track_loss = true});
  ASSERT_THAT(als.Fit(data_), IsOk());
  ASSERT_EQ(als.losses().size(), 6u);
  EXPECT_LT(als.losses().back(), als.losses().front());
  for (size_t i = 1; i < als.losses().size(); ++i)
    EXPECT_LE(als.losses()[i], als.losses()[i - 1] * 1.01) << i;
}

TEST_F(AlsTest, SameResultOnOneOrTwoThreads) {
  AlsModel one({.factors = 8, .iterations = 3, .threads = 1});
  AlsModel two({.factors = 8, .iterations = 3, .threads = 2});
  ASSERT_THAT(one.Fit(data_), IsOk());
  ASSERT_THAT(two.Fit(data_), IsOk());
  EXPECT_TRUE(one.item_factors().isApprox(two.item_factors(), 1e-6f));
  EXPECT_TRUE(one.user_factors().isApprox(two.user_factors(), 1e-6f));
}

TEST_F(AlsTest, FoldInMatchesTrainedVectorAndServesNewUsers) {
  AlsModel als({.factors = 16, .iterations = 10, .cg_steps = 3, .threads = 2});
  ASSERT_THAT(als.Fit(data_), IsOk());
  // For a trained user, the exact fold-in is close to the CG vector (same objective, one more solve).
  const int32_t u = 3;
  AlsModel::Vector folded = als.FoldIn(HistoryOf(data_, u));
  AlsModel::Vector trained = als.user_factors().row(u).transpose();
  EXPECT_GT(folded.dot(trained) / (folded.norm() * trained.norm()), 0.95);

  // A brand-new user who viewed three items of cluster 2 gets cluster-2 recommendations.
  OwnedHistory h;
  for (const char* id : {"i2", "i7", "i12"}) h.Add(data_.items.Find(id), 1);
  std::vector<float> scores(data_.num_items());
  als.Score(-1, h.view(), absl::MakeSpan(scores));
  int in_cluster = 0;
  for (const ScoredItem& r : TopN(scores, 10, h.items))
    in_cluster += SyntheticItemCluster(data_.items.Name(r.item), 5) == 2;
  EXPECT_GE(in_cluster, 8);
}

// The fold-in reuses per-thread buffers: a call after others of different histories (and sizes of
// model) gives exactly what a first call gives.
TEST_F(AlsTest, FoldInIsTheSameAfterOtherFoldIns) {
  AlsModel als({.factors = 16, .iterations = 3, .threads = 2});
  AlsModel small({.factors = 4, .iterations = 3, .threads = 2});
  ASSERT_THAT(als.Fit(data_), IsOk());
  ASSERT_THAT(small.Fit(data_), IsOk());
  const AlsModel::Vector first = als.FoldIn(HistoryOf(data_, 3));
  const AlsModel::Vector small_first = small.FoldIn(HistoryOf(data_, 3));
  for (int32_t u = 10; u < 20; ++u) {
    als.FoldIn(HistoryOf(data_, u));
    small.FoldIn(HistoryOf(data_, u));
  }
  EXPECT_EQ(als.FoldIn(HistoryOf(data_, 3)), first);
  EXPECT_EQ(small.FoldIn(HistoryOf(data_, 3)), small_first);
  EXPECT_EQ(als.FoldIn(UserHistory{}), AlsModel::Vector::Zero(16));
}

TEST_F(AlsTest, RejectsBadOptions) {
  EXPECT_EQ(AlsModel({.factors = 0}).Fit(data_).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AlsModel({.cg_steps = 0}).Fit(data_).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::recommender
