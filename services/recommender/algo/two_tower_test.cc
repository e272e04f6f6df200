// The two-tower model ranks by taste, and its item tower embeds an item it never saw from content alone
// (cold start) close to the items of the same kind.
#include "services/recommender/algo/two_tower.h"

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

// Items whose titles and categories name their planted cluster, as a catalogue would.
ItemCatalog ClusterCatalog(const SyntheticData& s, int clusters) {
  ItemCatalog c;
  const char* words[] = {"garden hose", "kitchen knife", "yoga mat", "desk lamp", "dog leash"};
  for (int32_t i = 0; i < s.log.items.size(); ++i) {
    const std::string& id = s.log.items.Name(i);
    const int k = SyntheticItemCluster(id, clusters);
    c[id] = {.title = absl::StrCat(words[k], " model ", i), .category = absl::StrCat("cat", k)};
  }
  return c;
}

TEST(TwoTowerTest, RanksByTasteAndEmbedsColdItemsFromContent) {
  SyntheticData s = GenerateSynthetic(
      {.users = 300, .items = 120, .clusters = 5, .events_per_user = 15, .in_cluster = 0.85});
  ItemCatalog catalog = ClusterCatalog(s, 5);
  TrainingData d = BuildTrainingData(s.log, {}, &catalog);
  TwoTowerModel model({.factors = 16, .learning_rate = 0.05f, .epochs = 10});
  ASSERT_THAT(model.Fit(d), IsOk());
  ASSERT_EQ(model.item_vectors().rows(), d.num_items());
  // Taste: the top 10 of a user fall mostly in their cluster (chance: 0.2), also for an anonymous history.
  std::vector<float> scores(d.num_items());
  int hits = 0, anon_hits = 0, total = 0;
  for (int32_t u = 0; u < d.num_users(); ++u) {
    const UserHistory h = HistoryOf(d, u);
    const int cluster = s.user_cluster[s.log.users.Find(d.users.Name(u))];
    model.Score(u, h, absl::MakeSpan(scores));
    for (const ScoredItem& r : TopN(scores, 10, h.items))
      hits += SyntheticItemCluster(d.items.Name(r.item), 5) == cluster;
    model.Score(-1, h, absl::MakeSpan(scores));
    for (const ScoredItem& r : TopN(scores, 10, h.items))
      anon_hits += SyntheticItemCluster(d.items.Name(r.item), 5) == cluster;
    total += 10;
  }
  EXPECT_GT(static_cast<double>(hits) / total, 0.6);
  EXPECT_GT(static_cast<double>(anon_hits) / total, 0.6);
  // Cold start: a new "yoga mat" item (cluster 2) is scored highest by cluster-2 users' tower.
  const Eigen::VectorXf cold = model.EmbedItem({.title = "yoga mat deluxe", .category = "cat2"});
  int right = 0, users = 0;
  for (int32_t u = 0; u < d.num_users(); ++u) {
    const Eigen::VectorXf uv = model.EmbedUser(u, HistoryOf(d, u));
    const int cluster = s.user_cluster[s.log.users.Find(d.users.Name(u))];
    // Compare with a cold "dog leash" (cluster 4).
    const float other = uv.dot(model.EmbedItem({.title = "dog leash deluxe", .category = "cat4"}));
    if (cluster == 2) right += uv.dot(cold) > other, ++users;
  }
  ASSERT_GT(users, 10);
  EXPECT_GT(static_cast<double>(right) / users, 0.9);
}

TEST(TwoTowerTest, RejectsBadOptions) {
  SyntheticData s = GenerateSynthetic({.users = 20, .items = 10, .clusters = 2, .events_per_user = 5});
  TrainingData d = BuildTrainingData(s.log);
  EXPECT_EQ(TwoTowerModel({.factors = 0}).Fit(d).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TwoTowerModel({.id_dropout = 2}).Fit(d).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::recommender
