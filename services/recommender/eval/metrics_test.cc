// Metrics against hand-computed values.
#include "services/recommender/eval/metrics.h"

#include <cmath>

#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

TEST(MetricsTest, HandComputedAtFive) {
  // Ranked 1..5, relevant {2, 4, 9}: hits at ranks 2 and 4.
  std::vector<int32_t> ranked = {1, 2, 3, 4, 5}, relevant = {2, 4, 9};
  RankingMetrics m = UserRankingMetrics(ranked, relevant, 5);
  EXPECT_DOUBLE_EQ(m.precision, 0.4);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3);
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);  // 1.061606
  const double idcg = 1 + 1 / std::log2(3.0) + 0.5;            // 2.130930
  EXPECT_NEAR(m.ndcg, dcg / idcg, 1e-12);
  EXPECT_NEAR(m.ndcg, 0.498190, 1e-6);
  EXPECT_DOUBLE_EQ(m.map, (1.0 / 2 + 2.0 / 4) / 3);
}

TEST(MetricsTest, HandComputedAtThree) {
  std::vector<int32_t> ranked = {1, 2, 3, 4, 5}, relevant = {2, 4, 9};
  RankingMetrics m = UserRankingMetrics(ranked, relevant, 3);
  EXPECT_DOUBLE_EQ(m.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.recall, 1.0 / 3);
  EXPECT_NEAR(m.ndcg, 0.630930 / 2.130930, 1e-6);
  EXPECT_DOUBLE_EQ(m.map, 0.5 / 3);
}

TEST(MetricsTest, PerfectMissAndShortLists) {
  std::vector<int32_t> relevant = {2, 4, 9};
  std::vector<int32_t> perfect = {9, 2, 4};
  RankingMetrics p = UserRankingMetrics(perfect, relevant, 3);
  EXPECT_DOUBLE_EQ(p.precision, 1);
  EXPECT_DOUBLE_EQ(p.recall, 1);
  EXPECT_DOUBLE_EQ(p.ndcg, 1);
  EXPECT_DOUBLE_EQ(p.map, 1);
  std::vector<int32_t> miss = {1, 3};
  RankingMetrics z = UserRankingMetrics(miss, relevant, 10);
  EXPECT_EQ(z.ndcg, 0);
  // One relevant item at rank 1 of a 1-item list, K = 10: precision counts K, not the list length.
  std::vector<int32_t> one = {4}, rel_one = {4};
  RankingMetrics s = UserRankingMetrics(one, rel_one, 10);
  EXPECT_DOUBLE_EQ(s.precision, 0.1);
  EXPECT_DOUBLE_EQ(s.recall, 1);
  EXPECT_DOUBLE_EQ(s.ndcg, 1);
  EXPECT_DOUBLE_EQ(s.map, 1);
  EXPECT_EQ(UserRankingMetrics(one, {}, 10).precision, 0);
}

TEST(MetricsTest, CoverageDiversityNovelty) {
  std::vector<int32_t> item_users = {4, 2, 1, 0};  // training users per item, 8 users
  auto sim = [](int32_t a, int32_t b) -> float {
    if (std::min(a, b) == 0 && std::max(a, b) == 1) return 0.5f;
    return 0.0f;
  };
  MetricsAccumulator acc(2, 4, &item_users, 8, sim);
  std::vector<int32_t> l1 = {0, 1}, l2 = {1, 2}, rel = {1};
  acc.Add(l1, rel);
  MetricsAccumulator other(2, 4, &item_users, 8, sim);
  other.Add(l2, rel);
  acc.Merge(other);
  EvalMetrics m = acc.Finish();
  EXPECT_EQ(m.users, 2);
  EXPECT_DOUBLE_EQ(m.coverage, 0.75);
  EXPECT_DOUBLE_EQ(m.diversity, (0.5 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(m.novelty, (1.0 + 2.0 + 2.0 + 3.0) / 4);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);  // both lists hit item 1
  // Item 3 (nobody has it) counts as 1 user: -log2(1/8) = 3.
  MetricsAccumulator unseen(1, 4, &item_users, 8, nullptr);
  std::vector<int32_t> l3 = {3};
  unseen.Add(l3, rel);
  EXPECT_DOUBLE_EQ(unseen.Finish().novelty, 3.0);
}

TEST(MetricsTest, CooccurrenceCosine) {
  InteractionLog log;
  log.Add("u0", "a", EventType::kView, 1, 0);
  log.Add("u1", "a", EventType::kView, 1, 0);
  log.Add("u1", "b", EventType::kView, 1, 0);
  log.Add("u2", "c", EventType::kView, 1, 0);
  TrainingData d = BuildTrainingData(log);
  ItemCooccurrenceSimilarity sim(d);
  EXPECT_NEAR(sim(d.items.Find("a"), d.items.Find("b")), 1 / std::sqrt(2.0), 1e-6);
  EXPECT_EQ(sim(d.items.Find("a"), d.items.Find("c")), 0);
}

}  // namespace
}  // namespace marketlens::recommender
