// The evaluation and the models on real public data (../shared/data, read at run time), against independent
// reference implementations (bench/reference_models.h) on the same split in the same run. Sized for CI: the
// Amazon 5-core files are small (2-3k ratings) and the Online Retail sample is 20k invoice lines; the full
// comparison with wide searches is bench/recommender_quality_bench.sh.
#include "common/testing/real_data.h"

#include <memory>

#include "gtest/gtest.h"
#include "services/recommender/algo/als.h"
#include "services/recommender/algo/ease.h"
#include "services/recommender/algo/popularity.h"
#include "services/recommender/algo/session_knn.h"
#include "services/recommender/bench/reference_models.h"
#include "services/recommender/data/public_datasets.h"
#include "services/recommender/eval/blend.h"
#include "services/recommender/eval/session_eval.h"
#include "services/recommender/eval/split.h"
#include "services/recommender/eval/tuning.h"

namespace marketlens::recommender {
namespace {

EvalOptions Options() {
  EvalOptions eval{.k = 10, .threads = 2};
  eval.hygiene.min_user_interactions = 2;
  eval.hygiene.min_item_interactions = 2;
  return eval;
}

double Ndcg(Model& model, const EvalData& data, const EvalOptions& eval) {
  EXPECT_TRUE(model.Fit(data.train).ok()) << model.name();
  return EvaluateModel(model, data, eval).ndcg;
}

// Popularity and EASE agree with straightforward reference implementations on a 75/25 per-user split of
// the Amazon Magazine_Subscriptions 5-core ratings: the evaluation and the closed form are sound.
TEST(RealDataTest, PopularityAndEaseMatchReferencesOnAmazonMagazines) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "amazon-5core/Magazine_Subscriptions_5.json");
  auto d = ReadAmazonReviewsJson(path);
  ASSERT_TRUE(d.ok()) << d.status();
  Split split = RandomPerUser(d->log, 0.25, 1);
  const EvalOptions eval = Options();
  auto data = PrepareEvaluation(split.train, split.test, nullptr, eval);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_GT(data->eval_users.size(), 200u);

  PopularityModel pop;
  ReferencePopularity ref_pop;
  const double pop_ndcg = Ndcg(pop, *data, eval);
  EXPECT_GT(pop_ndcg, 0.02);
  EXPECT_NEAR(pop_ndcg, Ndcg(ref_pop, *data, eval), 0.005);

  for (float lambda : {10.0f, 200.0f, 2000.0f}) {
    EaseModel ease({.lambda = lambda});
    ReferenceEase ref(lambda);
    EXPECT_NEAR(Ndcg(ease, *data, eval), Ndcg(ref, *data, eval), 0.003) << "lambda " << lambda;
  }
}

// The production ALS (conjugate gradient, warm starts, 2 threads) reaches the exact-solve Hu-Koren-Volinsky
// reference on the same data and hyper-parameters (binary preferences: weights capped at 1).
TEST(RealDataTest, AlsMatchesReferenceIalsOnAmazonMagazines) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "amazon-5core/Magazine_Subscriptions_5.json");
  auto d = ReadAmazonReviewsJson(path);
  ASSERT_TRUE(d.ok()) << d.status();
  Split split = RandomPerUser(d->log, 0.25, 1);
  EvalOptions eval = Options();
  eval.build.weights.max_weight = 1;  // binary, as the reference
  auto data = PrepareEvaluation(split.train, split.test, nullptr, eval);
  ASSERT_TRUE(data.ok()) << data.status();
  AlsModel als({.factors = 32, .regularization = 1, .alpha = 10, .iterations = 15, .threads = 2});
  ReferenceIals ref(32, 1, 10, 15);
  const double als_ndcg = Ndcg(als, *data, eval);
  const double ref_ndcg = Ndcg(ref, *data, eval);
  EXPECT_NEAR(als_ndcg, ref_ndcg, 0.03);
  PopularityModel pop;
  EXPECT_GT(als_ndcg, Ndcg(pop, *data, eval));
}

// The learned hybrid over every tuned model is at least as good as its best member on validation, and on
// the held-out side it is not worse than the best member by more than noise (Online Retail invoices).
TEST(RealDataTest, LearnedHybridAgainstItsBestPartOnOnlineRetail) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "online-retail/online_retail_sample.csv");
  auto d = ReadOnlineRetailCsv(path);
  ASSERT_TRUE(d.ok()) << d.status();
  Split split = RandomPerUser(d->log, 0.25, 1);
  const EvalOptions eval = Options();
  auto test = PrepareEvaluation(split.train, split.test, &d->catalog, eval);
  ASSERT_TRUE(test.ok()) << test.status();
  Split vsplit = RandomPerUser(split.train, 0.2, 11);
  auto validation = PrepareEvaluation(vsplit.train, vsplit.test, &d->catalog, eval);
  ASSERT_TRUE(validation.ok()) << validation.status();
  std::vector<std::pair<std::string, Params>> members;
  double best_single = 0;
  for (const std::string name : {"popularity", "item_knn", "ease", "als", "content"}) {
    auto tuned = TuneOn(name, *validation, {}, eval, {.max_trials = 9, .time_budget_seconds = 20});
    ASSERT_TRUE(tuned.ok()) << name << ": " << tuned.status();
    auto r = EvaluateAlgorithms(*test, {{name, tuned->best}}, eval);
    ASSERT_TRUE(r[0].status.ok()) << name << ": " << r[0].status;
    best_single = std::max(best_single, r[0].metrics.ndcg);
    members.push_back({name, tuned->best});
  }
  auto hybrid = EvaluateLearnedHybrid(members, *validation, *test, eval);
  ASSERT_TRUE(hybrid.ok()) << hybrid.status();
  for (double member : hybrid->fit.member_ndcg) EXPECT_GE(hybrid->fit.ndcg, member);
  EXPECT_GE(hybrid->result.metrics.ndcg, best_single - 0.005);
}

// Session-kNN beats item-to-item on next-item prediction over time-ordered Online Retail purchases.
TEST(RealDataTest, SessionKnnBeatsItemToItemOnNextItem) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "online-retail/online_retail_sample.csv");
  auto d = ReadOnlineRetailCsv(path);
  ASSERT_TRUE(d.ok()) << d.status();
  SessionEvalOptions o;
  SessionSplitData s = SplitSessions(d->log, o);
  ASSERT_GT(s.test.size(), 300u);
  ItemToItem last(true);
  last.Fit(s.train, s.num_items);
  SessionKnn knn({.neighbors = 100, .sample = 2000});
  knn.Fit(s.train, s.num_items);
  auto m_last = EvaluateNextItem(
      s, [&](auto items, int, auto out) { last.Score(items, out); }, o);
  auto m_knn = EvaluateNextItem(
      s, [&](auto items, int hour, auto out) { knn.Score(items, hour, out); }, o);
  ASSERT_GT(m_knn.predictions, 1000);
  EXPECT_GT(m_knn.hit_rate, m_last.hit_rate);
  EXPECT_GT(m_knn.mrr, m_last.mrr);
}

}  // namespace
}  // namespace marketlens::recommender
