// NCF learns planted taste clusters with BPR (its loss falls), folds unknown users in, and rejects bad
// options.
#include "services/recommender/algo/ncf.h"

#include <algorithm>
#include <vector>

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

// The fold-in reads per-item sums of user vectors: the same scores as averaging the users one by one,
// with items past kNcfFoldInUsersPerItem users, zero and missing weights.
TEST(NcfTest, FoldInEqualsTheMeanOfTheSharedUsersVectors) {
  const int users = 300, items = 4, k = 3, hidden = 5;
  NcfScorer::Parts p;
  p.user_gmf = NcfScorer::Matrix::Random(users, k);
  p.user_hidden = NcfScorer::Matrix::Random(users, hidden);
  p.item_gmf = NcfScorer::Matrix::Random(items, k);
  p.item_hidden = NcfScorer::Matrix::Random(items, hidden);
  p.w_mlp = Eigen::VectorXf::Random(hidden);
  p.item_bias = Eigen::VectorXf::Random(items);
  // Item 0: every user (past the cap); item 1: users 5..9; item 2: none; item 3: user 7.
  CsrMatrix item_users;
  item_users.rows = items;
  item_users.cols = users;
  item_users.indptr = {0};
  auto add_row = [&](std::vector<int32_t> row) {
    for (int32_t u : row) {
      item_users.indices.push_back(u);
      item_users.values.push_back(1);
    }
    item_users.indptr.push_back(static_cast<int64_t>(item_users.indices.size()));
  };
  std::vector<int32_t> all(users);
  for (int u = 0; u < users; ++u) all[u] = u;
  add_row(all);
  add_row({5, 6, 7, 8, 9});
  add_row({});
  add_row({7});
  const NcfScorer scorer(p, item_users);
  ASSERT_THAT(scorer.Check(), IsOk());
  const std::vector<int32_t> history_items = {0, 1, 2, 3, 1};
  const std::vector<float> history_weights = {2.0f, 0.5f, 1.0f, 0.0f};  // the last item has none: 1
  UserHistory h{.items = history_items, .weights = history_weights};
  Eigen::VectorXd gmf = Eigen::VectorXd::Zero(k), hid = Eigen::VectorXd::Zero(hidden);
  double total = 0;
  for (size_t n = 0; n < h.items.size(); ++n) {
    const float w = n < h.weights.size() ? h.weights[n] : 1.0f;
    if (!(w > 0)) continue;
    auto row = item_users.RowIndices(h.items[n]);
    for (size_t m = 0; m < std::min<size_t>(row.size(), kNcfFoldInUsersPerItem); ++m) {
      gmf += w * p.user_gmf.row(row[m]).transpose().cast<double>();
      hid += w * p.user_hidden.row(row[m]).transpose().cast<double>();
      total += w;
    }
  }
  gmf /= total;
  hid /= total;
  std::vector<float> got(items);
  scorer.ScoreHistory(h, absl::MakeSpan(got));
  for (int i = 0; i < items; ++i) {
    double want = p.item_gmf.row(i).cast<double>().dot(gmf) + p.item_bias[i];
    want += p.w_mlp.cast<double>().dot((p.item_hidden.row(i).transpose().cast<double>() + hid).cwiseMax(0.0));
    EXPECT_NEAR(got[i], want, 1e-4) << "item " << i;
  }
}

TEST(NcfTest, RejectsBadOptions) {
  SyntheticData s = GenerateSynthetic({.users = 20, .items = 10, .clusters = 2, .events_per_user = 5});
  TrainingData d = BuildTrainingData(s.log);
  EXPECT_EQ(NcfModel({.factors = 0}).Fit(d).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NcfModel({.learning_rate = 0}).Fit(d).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::recommender
