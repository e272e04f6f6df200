#include "services/recommender/bundle/trainer.h"

#include <eigen3/Eigen/Dense>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/recommender/algo/ncf.h"
#include "services/recommender/data/dataset.h"
#include "services/recommender/data/hygiene.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    synthetic_ = GenerateSynthetic(
        {.users = 300, .items = 80, .clusters = 4, .events_per_user = 16, .shop_events = true});
    config_.params = {{"als.factors", "8"}, {"als.iterations", "6"}};
    config_.hygiene.min_user_interactions = 3;
    config_.hygiene.min_item_interactions = 3;
    config_.threads = 2;
    config_.trained_at = 1750000000;
  }
  SyntheticData synthetic_;
  TrainConfig config_;
};

TEST_F(TrainerTest, HybridBundleHasEverythingAndBeatsPopularity) {
  auto r = TrainBundle({.log = &synthetic_.log, .catalog = &synthetic_.catalog}, config_);
  ASSERT_THAT(r, IsOk());
  const ModelBundle& b = r->bundle;
  EXPECT_EQ(b.version, "v20250615T150640-hybrid");
  EXPECT_EQ(b.factors, 8);
  EXPECT_GT(b.item_neighbors.nnz(), 0);
  EXPECT_GT(b.copurchase.nnz(), 0);  // sessions with purchases
  EXPECT_EQ(b.item_category[b.items.Find("i5")], "cat1");
  EXPECT_EQ(b.params.at("als.factors"), "8");
  // Someone who bought something has that recorded.
  int bought = 0;
  for (uint8_t k : b.user_item_kind) bought += k == static_cast<uint8_t>(ItemKind::kBought);
  EXPECT_GT(bought, 0);
  // Offline metrics of the shipped blend next to the baseline.
  ASSERT_EQ(r->evaluation.size(), 2u);
  EXPECT_GT(b.metrics.at("ndcg@10"), b.metrics.at("popularity.ndcg@10"));
  EXPECT_GT(b.metrics.at("eval.users"), 100);
  EXPECT_GE(b.pop_all[0], b.pop_recent[0]);
  double daypart_total = 0;
  for (const auto& v : b.pop_daypart) daypart_total += v[0];
  EXPECT_GE(daypart_total, b.pop_all[0]);
}

TEST_F(TrainerTest, OtherBlendsAndErrors) {
  config_.algorithm = "popularity";
  config_.evaluate = false;
  auto pop = TrainBundle({.log = &synthetic_.log}, config_);
  ASSERT_THAT(pop, IsOk());
  EXPECT_EQ(pop->bundle.factors, 0);
  EXPECT_EQ(pop->bundle.w_popularity, 1);
  EXPECT_GT(pop->bundle.item_neighbors.nnz(), 0);  // always built (SimilarItems)

  config_.algorithm = "svd";
  EXPECT_THAT(TrainBundle({.log = &synthetic_.log}, config_).status().message(),
              HasSubstr("algorithm must be"));
  config_.algorithm = "hybrid";
  config_.params["colour"] = "red";
  EXPECT_THAT(TrainBundle({.log = &synthetic_.log}, config_).status().message(),
              HasSubstr("unknown parameter `colour`"));
  config_.params.erase("colour");
  config_.params["w_als"] = "-1";
  EXPECT_FALSE(TrainBundle({.log = &synthetic_.log}, config_).ok());
  config_.params.erase("w_als");
  config_.hygiene.min_user_interactions = 1000;
  EXPECT_EQ(TrainBundle({.log = &synthetic_.log}, config_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(TrainBundle({}, config_).status().code(), absl::StatusCode::kInvalidArgument);
}

// The two-tower model ships through the factor path: user vectors from the user tower, item vectors from the
// item tower (also for a catalogue item nobody touched yet: cold start from content), mean fold-in.
TEST_F(TrainerTest, TwoTowerBundleEmbedsColdCatalogItems) {
  ItemCatalog catalog = synthetic_.catalog;
  ItemInfo cold = catalog.at("i5");  // cluster 1's words and category, but no events at all
  cold.title += " new";
  catalog["cold5"] = cold;
  config_.algorithm = "two_tower";
  config_.params = {{"two_tower.factors", "16"}, {"two_tower.epochs", "10"}};
  auto r = TrainBundle({.log = &synthetic_.log, .catalog = &catalog}, config_);
  ASSERT_THAT(r, IsOk());
  const ModelBundle& b = r->bundle;
  EXPECT_EQ(b.factors, 16);
  EXPECT_EQ(b.params.at("fold_in"), "mean");
  EXPECT_EQ(b.params.at("two_tower.epochs"), "10");
  EXPECT_EQ(b.w_als, 1);
  const int32_t c = b.items.Find("cold5");
  ASSERT_GE(c, 0);
  // The cold item's vector sits with its cluster: closer (dot product) to cluster-1 items than to others.
  auto vec = [&](int32_t i) {
    return Eigen::Map<const Eigen::VectorXf>(&b.item_factors[static_cast<size_t>(i) * 16], 16);
  };
  double same = 0, other = 0;
  int n_same = 0, n_other = 0;
  for (int32_t i = 0; i < b.num_items(); ++i) {
    if (i == c || b.items.Name(i) == "cold5") continue;
    const double d = vec(c).dot(vec(i));
    if (b.item_category[i] == "cat1")
      same += d, ++n_same;
    else
      other += d, ++n_other;
  }
  ASSERT_GT(n_same, 5);
  EXPECT_GT(same / n_same, other / n_other);
  EXPECT_GT(b.metrics.at("ndcg@10"), b.metrics.at("popularity.ndcg@10"));
}

// NCF ships through the bundle's NCF section: after a round trip through the artifact bytes, the serving
// scorer gives exactly the trained model's scores for a known user and for a folded-in history.
TEST_F(TrainerTest, NcfBundleScoresAsTheTrainedModel) {
  config_.algorithm = "ncf";
  config_.params = {{"ncf.factors", "8"}, {"ncf.hidden", "8"}, {"ncf.epochs", "10"}};
  auto r = TrainBundle({.log = &synthetic_.log}, config_);
  ASSERT_THAT(r, IsOk());
  const ModelBundle& b = r->bundle;
  EXPECT_EQ(b.algorithm, "ncf");
  EXPECT_EQ(b.ncf_factors, 8);
  EXPECT_EQ(b.w_als, 1);
  EXPECT_EQ(b.w_item_knn, 0);
  EXPECT_GT(b.metrics.at("ndcg@10"), b.metrics.at("popularity.ndcg@10"));
  auto back = ParseBundle(SerializeBundle(b));
  ASSERT_THAT(back, IsOk());
  ASSERT_EQ(back->ncf_item_hidden, b.ncf_item_hidden);

  // The same model trained directly (same data, options and seed).
  InteractionLog clean = Clean(synthetic_.log, config_.hygiene, nullptr);
  const TrainingData data = BuildTrainingData(clean, {.weights = config_.weights});
  NcfModel ncf({.factors = 8, .hidden = 8, .epochs = 10});
  ASSERT_THAT(ncf.Fit(data), IsOk());
  ASSERT_EQ(data.num_items(), back->num_items());
  NcfScorer::Parts p;
  using M = NcfScorer::Matrix;
  const int32_t u = back->num_users(), i = back->num_items();
  p.user_gmf = Eigen::Map<const M>(back->ncf_user_gmf.data(), u, 8);
  p.user_hidden = Eigen::Map<const M>(back->ncf_user_hidden.data(), u, 8);
  p.item_gmf = Eigen::Map<const M>(back->ncf_item_gmf.data(), i, 8);
  p.item_hidden = Eigen::Map<const M>(back->ncf_item_hidden.data(), i, 8);
  p.w_mlp = Eigen::Map<const Eigen::VectorXf>(back->ncf_w_mlp.data(), 8);
  p.item_bias = Eigen::Map<const Eigen::VectorXf>(back->ncf_item_bias.data(), i);
  NcfScorer served(std::move(p), back->user_items.Transpose());
  ASSERT_THAT(served.Check(), IsOk());
  std::vector<float> want(i), got(i);
  ncf.Score(3, HistoryOf(data, 3), absl::MakeSpan(want));
  served.ScoreUser(3, absl::MakeSpan(got));
  for (int32_t n = 0; n < i; ++n) EXPECT_NEAR(got[n], want[n], 1e-4f) << n;
  ncf.Score(-1, HistoryOf(data, 5), absl::MakeSpan(want));
  served.ScoreHistory(HistoryOf(data, 5), absl::MakeSpan(got));
  for (int32_t n = 0; n < i; ++n) EXPECT_NEAR(got[n], want[n], 1e-4f) << n;
}

}  // namespace
}  // namespace marketlens::recommender
