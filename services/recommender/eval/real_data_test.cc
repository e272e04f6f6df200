// The evaluation and the models on real public data (../shared/data, read at run time), against independent
// reference implementations (bench/reference_models.h) on the same split in the same run. Sized for CI: the
// Amazon 5-core files are small (2-3k ratings) and the Online Retail sample is 20k invoice lines; the full
// comparison with wide searches is bench/recommender_quality_bench.sh.
#include "common/testing/real_data.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
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

using ::marketlens::testing::IsOk;

EvalOptions Options() {
  EvalOptions eval{.k = 10, .threads = 2};
  eval.hygiene.min_user_interactions = 2;
  eval.hygiene.min_item_interactions = 2;
  return eval;
}

double Ndcg(Model& model, const EvalData& data, const EvalOptions& eval) {
  EXPECT_THAT(model.Fit(data.train), IsOk()) << model.name();
  return EvaluateModel(model, data, eval).ndcg;
}

// Popularity and EASE agree with straightforward reference implementations on a 75/25 per-user split of
// the Amazon Magazine_Subscriptions 5-core ratings: the evaluation and the closed form are sound.
TEST(RealDataTest, PopularityAndEaseMatchReferencesOnAmazonMagazines) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "amazon-5core/Magazine_Subscriptions_5.json");
  auto d = ReadAmazonReviewsJson(path);
  ASSERT_THAT(d, IsOk());
  Split split = RandomPerUser(d->log, 0.25, 1);
  const EvalOptions eval = Options();
  auto data = PrepareEvaluation(split.train, split.test, nullptr, eval);
  ASSERT_THAT(data, IsOk());
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
  ASSERT_THAT(d, IsOk());
  Split split = RandomPerUser(d->log, 0.25, 1);
  EvalOptions eval = Options();
  eval.build.weights.max_weight = 1;  // binary, as the reference
  auto data = PrepareEvaluation(split.train, split.test, nullptr, eval);
  ASSERT_THAT(data, IsOk());
  AlsModel als({.factors = 32, .regularization = 1, .alpha = 10, .iterations = 15, .threads = 2});
  ReferenceIals ref(32, 1, 10, 15);
  const double als_ndcg = Ndcg(als, *data, eval);
  const double ref_ndcg = Ndcg(ref, *data, eval);
  EXPECT_NEAR(als_ndcg, ref_ndcg, 0.03);
  PopularityModel pop;
  EXPECT_GT(als_ndcg, Ndcg(pop, *data, eval));
}

// The learned hybrid (weights cross-fitted on 5 validation splits of the training side, eval/blend.h) scores
// at least its best single part on the test side, measured in the same run: each member tuned on the
// validation split (9 candidates by successive halving, no time budget, so the run is deterministic),
// evaluated alone on test, then blended. `names` are the members; returns false on a setup failure.
struct HybridRun {
  double hybrid = 0, best_single = 0;
  std::string best_name;
  BlendFit fit;
};
void RunHybrid(const PublicDataset& d, const std::vector<std::string>& names, HybridRun* out) {
  Split split = RandomPerUser(d.log, 0.25, 1);
  const EvalOptions eval = Options();
  auto test = PrepareEvaluation(split.train, split.test, &d.catalog, eval);
  ASSERT_THAT(test, IsOk());
  auto folds = BlendValidationFolds(split.train, &d.catalog, eval, 5);
  ASSERT_THAT(folds, IsOk());
  const EvalData& validation = (*folds)[0];  // the tuning split (seed 11)
  std::vector<std::pair<std::string, Params>> members;
  for (const std::string& name : names) {
    auto tuned = TuneOn(name, validation, {}, eval, {.max_trials = 9});
    ASSERT_THAT(tuned, IsOk()) << name << ": " << tuned.status();
    auto r = EvaluateAlgorithms(*test, {{name, tuned->best}}, eval);
    ASSERT_THAT(r[0].status, IsOk()) << name << ": " << r[0].status;
    std::printf("%s test NDCG@10 %.4f\n", name.c_str(), r[0].metrics.ndcg);
    if (r[0].metrics.ndcg > out->best_single) out->best_single = r[0].metrics.ndcg, out->best_name = name;
    members.push_back({name, tuned->best});
  }
  std::vector<const EvalData*> views;
  for (const EvalData& f : *folds) views.push_back(&f);
  auto hybrid = EvaluateLearnedHybrid(members, views, *test, eval);
  ASSERT_THAT(hybrid, IsOk());
  out->hybrid = hybrid->result.metrics.ndcg;
  out->fit = hybrid->fit;
  std::string weights;
  for (size_t j = 0; j < hybrid->members.size(); ++j) {
    absl::StrAppend(&weights, " ", hybrid->members[j], "=", hybrid->fit.weights[j], " (validation ",
                    hybrid->fit.member_ndcg[j], ")");
  }
  std::printf("hybrid test NDCG@10 %.4f, best part %s %.4f; validation blend %.4f gain SE %.4f%s;%s\n",
              out->hybrid, out->best_name.c_str(), out->best_single, hybrid->fit.blend_ndcg,
              hybrid->fit.gain_se, hybrid->fit.fell_back ? " fell back" : "", weights.c_str());
  EXPECT_EQ(out->fit.folds, 5);
  EXPECT_GT(out->fit.validation_users, 4 * static_cast<int64_t>(validation.eval_users.size()));
  // On validation the kept weights are never worse than the best member alone.
  for (double member : out->fit.member_ndcg) EXPECT_GE(out->fit.ndcg, member);
}

TEST(RealDataTest, LearnedHybridAtLeastItsBestPartOnAmazonGiftCards) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "amazon-5core/Gift_Cards_5.json");
  auto d = ReadAmazonReviewsJson(path);
  ASSERT_THAT(d, IsOk());
  HybridRun run;
  RunHybrid(*d, {"popularity", "item_knn", "item_knn_bm25", "ease", "als", "copurchase", "two_tower"}, &run);
  EXPECT_GE(run.hybrid, run.best_single) << "best part " << run.best_name;
}

TEST(RealDataTest, LearnedHybridAtLeastItsBestPartOnAmazonMagazines) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "amazon-5core/Magazine_Subscriptions_5.json");
  auto d = ReadAmazonReviewsJson(path);
  ASSERT_THAT(d, IsOk());
  HybridRun run;
  RunHybrid(*d, {"popularity", "item_knn", "item_knn_bm25", "ease", "als", "copurchase", "two_tower"}, &run);
  EXPECT_GE(run.hybrid, run.best_single) << "best part " << run.best_name;
}

TEST(RealDataTest, LearnedHybridAtLeastItsBestPartOnOnlineRetail) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "online-retail/online_retail_sample.csv");
  auto d = ReadOnlineRetailCsv(path);
  ASSERT_THAT(d, IsOk());
  HybridRun run;
  RunHybrid(*d, {"popularity", "item_knn", "ease", "als", "content"}, &run);
  EXPECT_GE(run.hybrid, run.best_single) << "best part " << run.best_name;
}

// Session-kNN beats item-to-item on next-item prediction over time-ordered Online Retail purchases.
TEST(RealDataTest, SessionKnnBeatsItemToItemOnNextItem) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "online-retail/online_retail_sample.csv");
  auto d = ReadOnlineRetailCsv(path);
  ASSERT_THAT(d, IsOk());
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
