// The pipeline against a real PostgreSQL (real migrations) and a real Redis: stream consumption with
// acknowledgement, catch-up from raw.reviews, edits, retraining (and the re-scoring it triggers), product
// insights and statistically tested alerts.
#include "services/analyzer/pipeline.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/redis/client.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/raw_data_fixture.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;

using ::marketlens::testing::IsOk;
using testing::AddProduct;
using testing::AddReview;
using testing::AddReviews;
using testing::Scalar;

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = marketlens::testing::PostgresServer::StartOrDie().release(); }
  static void TearDownTestSuite() { delete pg_; }

  void SetUp() override {
    pool_ = CreateMigratedDatabaseOrFail(*pg_).pool;
    ASSERT_NE(pool_, nullptr);
    auto redis = marketlens::testing::RedisServer::Create();
    ASSERT_THAT(redis, IsOk());
    redis_server_ = *std::move(redis);
    redis::RedisOptions ro;
    ro.host = "127.0.0.1";
    ro.port = redis_server_->port();
    redis_ = std::make_unique<redis::RedisClient>(ro);
    auto engine = Engine::Create();
    ASSERT_THAT(engine, IsOk());
    engine_ = *std::move(engine);
    store_ = std::make_unique<InsightsStore>(pool_.get());
    metrics_ = std::make_unique<AnalyzerMetrics>(std::make_shared<prometheus::Registry>());
    PipelineOptions options;
    options.stream_block = absl::Milliseconds(50);
    options.claim_idle = absl::Milliseconds(100);
    pipeline_ =
        std::make_unique<Pipeline>(store_.get(), engine_.get(), redis_.get(), options, metrics_.get());
  }

  // A product whose rating collapsed in the last two weeks, and a steady one.
  void AddHistory() {
    const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
    ASSERT_THAT(AddProduct(*pool_, "p-slip", "Voltix Speaker", "Voltix", "Electronics"), IsOk());
    ASSERT_THAT(AddProduct(*pool_, "p-ok", "Sonara Earbuds", "Sonara", "Electronics"), IsOk());
    ASSERT_TRUE(AddReviews(*pool_, "slip-old", "p-slip", 60, true, now - absl::Hours(24 * 200),
                           now - absl::Hours(24 * 40))
                    .ok());
    ASSERT_THAT(AddReviews(*pool_, "slip-new", "p-slip", 20, false, now - absl::Hours(24 * 14), now), IsOk());
    ASSERT_TRUE(AddReviews(*pool_, "ok-old", "p-ok", 60, true, now - absl::Hours(24 * 200),
                           now - absl::Hours(24 * 40), 2)
                    .ok());
    ASSERT_THAT(AddReviews(*pool_, "ok-new", "p-ok", 20, true, now - absl::Hours(24 * 14), now, 3), IsOk());
    // Filler for training: both classes.
    ASSERT_THAT(AddProduct(*pool_, "p-x", "Kinetek Watch", "Kinetek", "Electronics"), IsOk());
    ASSERT_TRUE(AddReviews(*pool_, "x-bad", "p-x", 40, false, now - absl::Hours(24 * 300),
                           now - absl::Hours(24 * 100), 4)
                    .ok());
    // Reviews only a model trained on the ratings reads right, so the gate lets the model go live.
    ASSERT_TRUE(testing::AddDomainWordReviews(*pool_, "x-clasp", "p-x", 60, now - absl::Hours(24 * 300),
                                              now - absl::Hours(24 * 100))
                    .ok());
  }

  static marketlens::testing::PostgresServer* pg_;
  std::unique_ptr<postgres::PgPool> pool_;
  std::unique_ptr<marketlens::testing::RedisServer> redis_server_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<InsightsStore> store_;
  std::unique_ptr<AnalyzerMetrics> metrics_;
  std::unique_ptr<Pipeline> pipeline_;
};
marketlens::testing::PostgresServer* PipelineTest::pg_ = nullptr;

TEST_F(PipelineTest, CatchUpTrainsAnalysesAggregatesAndAlerts) {
  AddHistory();
  ASSERT_THAT(pipeline_->Init(), IsOk());  // trains: no model yet, enough rated reviews
  ASSERT_NE(engine_->model(), nullptr);
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) FROM insights.models WHERE active"), "1");

  auto r = pipeline_->CatchUp();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->reviews, 260);
  EXPECT_EQ(r->products, 3);
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) FROM insights.review_analysis"), "260");
  // Nothing left: a second pass does nothing.
  EXPECT_EQ(pipeline_->CatchUp()->reviews, 0);

  // Per-review analysis.
  EXPECT_EQ(Scalar(*pool_, "SELECT label FROM insights.review_analysis WHERE review_id = 'slip-new-0'"),
            "negative");
  EXPECT_EQ(Scalar(*pool_, "SELECT label FROM insights.review_analysis WHERE review_id = 'slip-old-0'"),
            "positive");
  EXPECT_NE(
      Scalar(*pool_, "SELECT issues::text FROM insights.review_analysis WHERE review_id = 'slip-new-4'"),
      "[]");

  // Summary, weekly history, issues with quotes.
  EXPECT_EQ(Scalar(*pool_, "SELECT review_count FROM insights.product_summary WHERE product_id = 'p-slip'"),
            "80");
  EXPECT_EQ(Scalar(*pool_, "SELECT title FROM insights.product_summary WHERE product_id = 'p-slip'"),
            "Voltix Speaker");
  EXPECT_EQ(Scalar(*pool_, "SELECT sum(reviews) FROM insights.product_weekly WHERE product_id = 'p-slip'"),
            "80");
  EXPECT_EQ(
      Scalar(*pool_,
             "SELECT count(*) > 0 FROM insights.issues WHERE product_id = 'p-slip' AND category = 'defective'"
             " AND cardinality(quotes) > 0"),
      "t");
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) > 0 FROM insights.issue_weekly WHERE product_id = 'p-slip'"),
            "t");
  EXPECT_EQ(
      Scalar(
          *pool_,
          "SELECT jsonb_array_length(features) > 0 FROM insights.product_summary WHERE product_id = 'p-ok'"),
      "t");

  // Alerts: the slipping product, significant; the steady one, none.
  EXPECT_EQ(Scalar(*pool_,
                   "SELECT count(*) FROM insights.alerts WHERE product_id = 'p-slip' AND kind = 'rating_drop'"
                   " AND p_value < 0.01 AND resolved_at IS NULL"),
            "1");
  // The sentiment's permutation test keeps 0.001 of the stars/sentiment share under the default (the
  // empirical-Bayes star-levels test takes the rest: README), and this product's issue tests take part too,
  // so its slip alerts through its rating, not its sentiment.
  EXPECT_EQ(
      Scalar(*pool_,
             "SELECT count(*) FROM insights.alerts WHERE product_id = 'p-slip' AND kind = 'sentiment_drop'"),
      "0");
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) FROM insights.alerts WHERE product_id = 'p-ok'"), "0");
  EXPECT_EQ(
      Scalar(*pool_, "SELECT open_alerts >= 1 FROM insights.product_summary WHERE product_id = 'p-slip'"),
      "t");

  // Recomputing again keeps one open alert per kind and metric (no duplicates).
  ASSERT_THAT(store_->RecomputeProduct("p-slip", *store_->DataNow()), IsOk());
  EXPECT_EQ(
      Scalar(*pool_,
             "SELECT count(*) FROM insights.alerts WHERE product_id = 'p-slip' AND kind = 'rating_drop'"),
      "1");
  // Once the shift is no longer significant (weeks of good reviews after it), the alert is resolved.
  const absl::Time later = absl::FromCivil(absl::CivilSecond(2025, 8, 1, 0, 0, 0), absl::UTCTimeZone());
  ASSERT_TRUE(
      AddReviews(*pool_, "slip-recovered", "p-slip", 30, true, later - absl::Hours(24 * 20), later, 5).ok());
  ASSERT_THAT(pipeline_->CatchUp(), IsOk());
  EXPECT_EQ(Scalar(*pool_,
                   "SELECT count(*) FROM insights.alerts WHERE product_id = 'p-slip' AND kind = 'rating_drop'"
                   " AND resolved_at IS NOT NULL"),
            "1");
}

// The service's alerts are DetectChanges' (the cli's) over the same reviews: the pipeline fits the
// empirical-Bayes star-levels prior over every product's star counts (one aggregate) as DetectChanges fits
// it over the products it is given, and each product is tested by the same code.
TEST_F(PipelineTest, TheServiceRaisesTheAlertsDetectChangesRaisesOverTheSameReviews) {
  const absl::Time end = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  std::vector<std::string> ids;
  uint64_t state = 12345;
  auto next = [&state] {  // a small deterministic generator (no dependence on the library's engines)
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int p = 0; p < 24; ++p) {
    const std::string id = absl::StrCat("p-", p);
    ids.push_back(id);
    ASSERT_THAT(AddProduct(*pool_, id, absl::StrCat("Product ", p), "Brand", "Electronics"), IsOk());
    const int n = 20 + 3 * (p % 8);
    const bool slips = p % 4 == 0;  // 6 products turn bad for their newest third
    const double good = 0.55 + 0.4 * next();
    for (int i = 0; i < n; ++i) {
      const bool late = slips && i >= n - n / 3;
      const double u = next();
      const int stars = late ? (u < 0.7 ? 1 + static_cast<int>(2 * next()) : 3 + static_cast<int>(3 * next()))
                             : (u < good         ? 5
                                : u < good + 0.2 ? 4
                                                 : 1 + static_cast<int>(3 * next()));
      const std::string text = stars >= 4   ? "Works well, very happy with it."
                               : stars == 3 ? "It is fine, nothing special."
                                            : "Stopped working after a week, poor quality.";
      ASSERT_THAT(AddReview(*pool_, absl::StrCat(id, "-", i), id, std::min(stars, 5), "Review", text,
                            end - absl::Hours(24 * (300 - 300 * i / n))),
                  IsOk());
    }
  }
  ASSERT_THAT(pipeline_->CatchUp(), IsOk());
  auto now = store_->DataNow();
  ASSERT_THAT(now, IsOk());
  std::map<std::string, std::vector<ReviewFact>> products;
  for (const std::string& id : ids) {
    auto facts = store_->ProductFacts(id);
    ASSERT_THAT(facts, IsOk());
    products[id] = *std::move(facts);
  }
  // The same prior from the aggregate as from the reviews.
  auto counts = store_->StarLevelCounts(*now);
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(StarLevelsModelFromCounts(*counts)->level_prior(),
            FitStarLevelsModel(products, *now)->level_prior());

  const ChangeOptions options;  // the defaults: the empirical-Bayes star-levels test at product_alpha 0.02
  ASSERT_TRUE(options.eb_stars);
  std::vector<std::string> expected;
  for (const ChangeFinding& f : DetectChanges(products, *now, options)) {
    expected.push_back(absl::StrCat(f.product_id, " ", f.metric, " ",
                                    absl::FormatTime("%Y-%m-%d", f.since, absl::UTCTimeZone()), " ",
                                    f.open ? "open" : "resolved"));
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_FALSE(expected.empty());
  const std::string stored = Scalar(
      *pool_,
      "SELECT string_agg(product_id || ' ' || metric || ' ' || to_char(since AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD') || ' ' || CASE WHEN state = 'resolved' THEN 'resolved' ELSE 'open' END, ',' ORDER BY "
      "product_id || ' ' || metric COLLATE \"C\") FROM insights.alerts");
  EXPECT_EQ(stored, absl::StrJoin(expected, ","));
  // Not every product alerts: the test separates them.
  EXPECT_LT(expected.size(), ids.size());
}

TEST_F(PipelineTest, StreamEntriesAreProcessedThenAcknowledged) {
  AddHistory();
  ASSERT_THAT(pipeline_->Init(), IsOk());
  ASSERT_THAT(pipeline_->CatchUp(), IsOk());
  // A new review arrives and is announced.
  const absl::Time at = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 1, 0, 0), absl::UTCTimeZone());
  ASSERT_TRUE(
      AddReview(*pool_, "new-1", "p-ok", 1, "Broken", "It arrived damaged, the box was crushed.", at).ok());
  ASSERT_TRUE(redis_
                  ->XAdd(kReviewStream, {{"event", "created"},
                                         {"review_id", "new-1"},
                                         {"product_id", "p-ok"},
                                         {"version", "1"},
                                         {"queued_at", "2025-06-01T01:00:00Z"}})
                  .ok());
  ASSERT_TRUE(
      redis_->XAdd(kReviewStream, {{"event", "created"}, {"garbage", "x"}}).ok());  // malformed: dropped
  auto n = pipeline_->PollStreamOnce(absl::Milliseconds(100));
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(
      Scalar(*pool_, "SELECT issues->0->>'category' FROM insights.review_analysis WHERE review_id = 'new-1'"),
      "damaged_in_shipping");
  EXPECT_EQ(Scalar(*pool_, "SELECT review_count FROM insights.product_summary WHERE product_id = 'p-ok'"),
            "81");
  // Acknowledged: nothing pending for the group.
  auto pending = redis_->Command({"XPENDING", kReviewStream, "analyzer"});
  ASSERT_THAT(pending, IsOk());
  EXPECT_EQ((*pending)[0].integer(), 0);

  // An edit (version 2) is re-analysed.
  ASSERT_TRUE(
      AddReview(*pool_, "new-1", "p-ok", 5, "Replaced", "The seller replaced it, works great now.", at, 2)
          .ok());
  ASSERT_TRUE(
      redis_->XAdd(kReviewStream, {{"event", "edited"}, {"review_id", "new-1"}, {"version", "2"}}).ok());
  ASSERT_THAT(pipeline_->PollStreamOnce(absl::Milliseconds(100)), IsOk());
  EXPECT_EQ(
      Scalar(*pool_,
             "SELECT review_version || ' ' || label FROM insights.review_analysis WHERE review_id = 'new-1'"),
      "2 positive");
}

TEST_F(PipelineTest, StopWithinEndsAnIdleLoopPromptly) {
  AddHistory();
  pipeline_->Start();
  absl::SleepFor(absl::Milliseconds(300));  // let it initialise and reach its poll loop
  const absl::Time start = absl::Now();
  EXPECT_TRUE(pipeline_->StopWithin(absl::Seconds(20)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  EXPECT_TRUE(pipeline_->StopWithin(absl::Seconds(1)));  // idempotent
}

TEST_F(PipelineTest, EntriesOfACrashedConsumerAreClaimed) {
  AddHistory();
  ASSERT_THAT(pipeline_->Init(), IsOk());
  ASSERT_THAT(redis_->XGroupCreate(kReviewStream, "analyzer"), IsOk());
  ASSERT_THAT(redis_->XAdd(kReviewStream, {{"review_id", "ok-new-3"}}), IsOk());
  // Another consumer reads the entry and dies without acknowledging.
  auto stolen = redis_->XReadGroup("analyzer", "dead-consumer", kReviewStream, 10, 0, ">");
  ASSERT_THAT(stolen, IsOk());
  ASSERT_EQ(stolen->size(), 1u);
  absl::SleepFor(absl::Milliseconds(150));  // > claim_idle
  auto n = pipeline_->PollStreamOnce(absl::Milliseconds(10));
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) FROM insights.review_analysis WHERE review_id = 'ok-new-3'"),
            "1");
}

TEST_F(PipelineTest, WorksWithoutRedisAndRetrainingRescoresEverything) {
  AddHistory();
  redis_server_->Stop().IgnoreError();
  ASSERT_THAT(pipeline_->Init(), IsOk());
  EXPECT_FALSE(pipeline_->PollStreamOnce(absl::Milliseconds(10)).ok());  // Redis down: an error, not a crash
  ASSERT_EQ(pipeline_->CatchUp()->reviews, 260);                         // the catch-up still works
  const std::string v1 = engine_->version();
  // More data: the next retraining makes a new version, and everything is re-scored with it.
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  ASSERT_TRUE(
      AddReviews(*pool_, "more", "p-x", 80, true, now - absl::Hours(24 * 90), now - absl::Hours(24 * 60), 6)
          .ok());
  ASSERT_THAT(pipeline_->MaybeRetrain(), IsOk());
  EXPECT_NE(engine_->version(), v1);
  auto r = pipeline_->CatchUp();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->reviews, 340);
  EXPECT_EQ(
      Scalar(*pool_, absl::StrCat("SELECT count(*) FROM insights.review_analysis WHERE model_version = '",
                                  engine_->version(), "'")),
      "340");
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) FROM insights.models"), "2");
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) FROM insights.models WHERE active"), "1");
}

// A stop request interrupts a training run (TextModelTest.TrainingStopsPromptlyWhenCancelled measures how
// fast): Retrain answers CANCELLED without storing a model, and MaybeRetrain does not call that an error.
// A started loop (whose Init trains, as there is no model yet) is joined well within a second.
TEST_F(PipelineTest, StopInterruptsTraining) {
  AddHistory();
  pipeline_->RequestStop();
  EXPECT_EQ(pipeline_->Retrain().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(pipeline_->MaybeRetrain(), IsOk());
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) FROM insights.models"), "0");
  EXPECT_EQ(engine_->model(), nullptr);
  pipeline_->Start();
  const absl::Time start = absl::Now();
  EXPECT_TRUE(pipeline_->StopWithin(absl::Seconds(2)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

// The gate: on reviews the rules already read right (every one of these says "great" or "terrible"), a new
// model cannot beat rules alone on the balanced held-out sample, so it is rejected: nothing is stored or
// used, the rejection and the figures are exported, and MaybeRetrain waits for the data to grow before it
// trains again.
TEST_F(PipelineTest, GateRejectsAModelThatDoesNotBeatRules) {
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  ASSERT_THAT(AddProduct(*pool_, "p-a", "Voltix Speaker", "Voltix", "Electronics"), IsOk());
  ASSERT_THAT(AddReviews(*pool_, "a", "p-a", 100, true, now - absl::Hours(24 * 200), now), IsOk());
  ASSERT_THAT(AddReviews(*pool_, "b", "p-a", 60, false, now - absl::Hours(24 * 200), now, 2), IsOk());
  EXPECT_EQ(pipeline_->Retrain().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine_->model(), nullptr);
  EXPECT_EQ(Scalar(*pool_, "SELECT count(*) FROM insights.models"), "0");
  EXPECT_EQ(metrics_->trainings("rejected").Value(), 1);
  EXPECT_EQ(metrics_->gate_balanced_accuracy("rules").Value(), 1.0);
  EXPECT_LE(metrics_->gate_balanced_accuracy("combined").Value(), 1.0);
  // Init tolerates it (the engine runs on rules); MaybeRetrain does not try again on the same data.
  EXPECT_THAT(pipeline_->Init(), IsOk());
  EXPECT_EQ(metrics_->trainings("rejected").Value(), 2);
  EXPECT_THAT(pipeline_->MaybeRetrain(), IsOk());
  EXPECT_EQ(metrics_->trainings("rejected").Value(), 2);
  EXPECT_EQ(engine_->version(), "local-2+rules");
}

}  // namespace
}  // namespace marketlens::analyzer
