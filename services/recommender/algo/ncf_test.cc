// NCF learns planted taste clusters with BPR (its loss falls), folds unknown users in, and rejects bad
// options.
#include "services/recommender/algo/ncf.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/algo/popularity.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

double ClusterPrecision(const Model& m, const TrainingData& d, const SyntheticData& s, bool fold_in) {
  std::vector<float> scores(d.num_items());
  int hits = 0, total = 0;
  for (int32_t u = 0; u < d.num_users(); ++u) {
    UserHistory h = HistoryOf(d, u);
    m.Score(fold_in ? -1 : u, h, absl::MakeSpan(scores));
    const int cluster = s.user_cluster[s.log.users.Find(d.users.Name(u))];
    for (const ScoredItem& r : TopN(scores, 10, h.items)) {
      hits += SyntheticItemCluster(d.items.Name(r.item), 5) == cluster;
      ++total;
    }
  }
  return static_cast<double>(hits) / total;
}

TEST(NcfTest, LearnsPlantedClustersWithBpr) {
  SyntheticData s = GenerateSynthetic(
      {.users = 300, .items = 120, .clusters = 5, .events_per_user = 15, .in_cluster = 0.85});
  TrainingData d = BuildTrainingData(s.log);
  NcfModel ncf({.factors = 16, .hidden = 16, .learning_rate = 0.05f, .epochs = 15});
  ASSERT_THAT(ncf.Fit(d), IsOk());
  ASSERT_EQ(ncf.epoch_losses().size(), 15u);
  EXPECT_LT(ncf.epoch_losses().back(), 0.6 * ncf.epoch_losses().front());  // BPR loss starts at log 2
  PopularityModel pop;
  ASSERT_THAT(pop.Fit(d), IsOk());
  const double ncf_precision = ClusterPrecision(ncf, d, s, false);
  EXPECT_GT(ncf_precision, 0.6);  // 5 clusters: chance is 0.2
  EXPECT_GT(ncf_precision, ClusterPrecision(pop, d, s, false) + 0.2);
  EXPECT_GT(ClusterPrecision(ncf, d, s, true), 0.5);  // unknown users, from their history
  EXPECT_EQ(ncf.params().at("factors"), "16");
}

TEST(NcfTest, RejectsBadOptions) {
  SyntheticData s = GenerateSynthetic({.users = 20, .items = 10, .clusters = 2, .events_per_user = 5});
  TrainingData d = BuildTrainingData(s.log);
  EXPECT_EQ(NcfModel({.factors = 0}).Fit(d).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NcfModel({.learning_rate = 0}).Fit(d).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::recommender
