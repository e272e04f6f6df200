// The LLM review mode against a real HTTP server speaking the OpenAI chat completions API
// (fake_review_model.h: json_schema and json_object, a server without json_schema, 429 with Retry-After,
// answers cut at max_tokens, a model that ignores the schema, made-up quotes, slow answers), a real
// PostgreSQL (the real migrations) and a real Redis: batching, the per-review fallback to the local
// engine, the backend recorded with each result, the cache by content hash, the daily budgets, the
// sampling order, and the pipeline not waiting for any of it.
#include "services/analyzer/llm_review/llm_reviewer.h"

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/cache.h"
#include "common/redis/client.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/llm/openai_backend.h"
#include "services/analyzer/llm_review/fake_review_model.h"
#include "services/analyzer/pipeline.h"
#include "services/analyzer/raw_data_fixture.h"

namespace marketlens::analyzer::llm_review {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;

using ::marketlens::testing::IsOk;
using testing::Scalar;

class LlmReviewerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = marketlens::testing::PostgresServer::StartOrDie().release(); }
  static void TearDownTestSuite() { delete pg_; }

  void SetUp() override {
    pool_ = CreateMigratedDatabaseOrFail(*pg_).pool;
    ASSERT_NE(pool_, nullptr);
    auto engine = Engine::Create();
    ASSERT_THAT(engine, IsOk());
    engine_ = *std::move(engine);
    auto prompts = llm::PromptLibrary::Embedded();
    ASSERT_THAT(prompts, IsOk());
    prompts_ = std::make_unique<llm::PromptLibrary>(*std::move(prompts));
    store_ = std::make_unique<ReviewInsightStore>(pool_.get());
    registry_ = std::make_shared<prometheus::Registry>();
    metrics_ = std::make_unique<ReviewMetrics>(registry_);
    llm_metrics_ = std::make_unique<AnalyzerMetrics>(registry_);
    now_ = absl::Now();
  }

  std::unique_ptr<LlmReviewer> Make(FakeReviewModel& model, ReviewerOptions options = {},
                                    bool json_schema = true, int max_tokens = 4000,
                                    redis::Cache* cache = nullptr) {
    options.now = [this] { return now_; };
    options.sampling.sample_rate = 1.0;  // every review a candidate unless a test says otherwise
    llm::StructuredLlmOptions so;
    so.backoff.initial = absl::Milliseconds(10);
    so.backoff.max = absl::Milliseconds(50);
    const std::string url = model.base_url();
    auto r = LlmReviewer::Create(
        [url, json_schema, max_tokens](const std::atomic<bool>* cancel) {
          llm::OpenAiOptions o;
          o.base_url = url;
          o.model = "fake-model";
          o.timeout = absl::Seconds(5);
          o.json_schema = json_schema;
          o.max_tokens = max_tokens;
          o.cancel = cancel;
          return std::make_unique<llm::OpenAiBackend>(o);
        },
        so, prompts_.get(), store_.get(), cache, engine_.get(), options, metrics_.get(), llm_metrics_.get());
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *std::move(r) : nullptr;
  }

  ReviewRow Row(const std::string& id, int rating, const std::string& text, int age_hours = 0) {
    ReviewRow r;
    r.id = id;
    r.product_id = "p-1";
    r.category = "Electronics";
    r.title = "";
    r.text = text;
    r.rating = rating;
    r.created_at = now_ - absl::Hours(age_hours);
    return r;
  }
  std::vector<std::pair<ReviewRow, Analysis>> Analysed(const std::vector<ReviewRow>& rows) {
    std::vector<std::pair<ReviewRow, Analysis>> out;
    for (const ReviewRow& r : rows) {
      out.emplace_back(
          r,
          engine_->Analyze({.title = r.title, .text = r.text, .category = r.category, .rating = r.rating}));
    }
    return out;
  }
  // `n` distinct reviews, each naming the battery (feature feedback from the fake model).
  std::vector<ReviewRow> Reviews(const std::string& prefix, int n, int rating = 4) {
    std::vector<ReviewRow> rows;
    for (int i = 0; i < n; ++i) {
      rows.push_back(
          Row(absl::StrCat(prefix, i), rating,
              absl::StrCat("Bought this for trip number ", i,
                           ". The battery lasts all day and charges quickly. It does what it says.")));
    }
    return rows;
  }
  int Drain(LlmReviewer& r) {
    int stored = 0;
    for (int i = 0; i < 100 && r.queue().size() > 0; ++i) {
      auto n = r.RunOnce();
      EXPECT_THAT(n, IsOk());
      if (!n.ok()) break;
      stored += *n;
    }
    return stored;
  }
  std::string Q(const std::string& sql) { return Scalar(*pool_, sql); }
  std::string Backend(const std::string& id) {
    return Q(absl::StrCat(
        "SELECT backend || '/' || fallback_reason FROM insights.review_llm_analysis WHERE review_id = '", id,
        "'"));
  }

  static marketlens::testing::PostgresServer* pg_;
  std::unique_ptr<postgres::PgPool> pool_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<llm::PromptLibrary> prompts_;
  std::unique_ptr<ReviewInsightStore> store_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ReviewMetrics> metrics_;
  std::unique_ptr<AnalyzerMetrics> llm_metrics_;
  absl::Time now_;
};
marketlens::testing::PostgresServer* LlmReviewerTest::pg_ = nullptr;

TEST_F(LlmReviewerTest, BatchesThroughJsonSchemaAndRecordsTheModelsAnswer) {
  FakeReviewModel model;
  ReviewerOptions o;
  o.batch_size = 4;
  auto reviewer = Make(model, o);
  std::vector<ReviewRow> rows = Reviews("good-", 6);
  rows.push_back(Row("bad-1", 1, "The strap broke after two days. Very disappointed with it."));
  reviewer->Offer(Analysed(rows));
  EXPECT_EQ(reviewer->queue().size(), 7u);
  EXPECT_EQ(Drain(*reviewer), 7);
  // Two requests of at most 4 reviews; the low-star review (priority) went in the first.
  ASSERT_EQ(model.requests(), 2);
  const auto requests = model.recorded();
  auto first = llm::ParseChatRequest(requests[0].body);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(FakeReviewModel::ReviewLines(first->user).size(), 4u);
  EXPECT_TRUE(absl::StrContains(first->user, "The strap broke")) << first->user;
  EXPECT_EQ(FakeReviewModel::ReviewLines(llm::ParseChatRequest(requests[1].body)->user).size(), 3u);
  // response_format json_schema with the batch schema (enums included).
  EXPECT_EQ(first->response_format, "json_schema");
  EXPECT_EQ(first->schema_name, "ReviewBatchOutput");
  EXPECT_TRUE(absl::StrContains(first->schema, "\"quality_concerns\"")) << first->schema;
  EXPECT_TRUE(absl::StrContains(first->schema, "\"damaged_in_shipping\""));
  EXPECT_EQ(first->max_tokens, 4000);
  // Stored: the model's answer, with the backend and model that produced it.
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai' AND model = "
              "'fake-model' AND prompt_id = 'review_batch.v1' AND NOT cached AND fallback_reason = ''"),
            "7");
  EXPECT_EQ(Q("SELECT label || ' ' || sentiment FROM insights.review_llm_analysis WHERE review_id = 'bad-1'"),
            "negative -1");
  EXPECT_EQ(Q("SELECT issues->0->>'category' || '|' || (issues->0->>'sentence') FROM "
              "insights.review_llm_analysis WHERE review_id = 'bad-1'"),
            "defective|The strap broke after two days.");
  EXPECT_EQ(
      Q("SELECT quality_concerns->0->>'concern' FROM insights.review_llm_analysis WHERE review_id = 'bad-1'"),
      "defects");
  EXPECT_EQ(Q("SELECT feature_feedback->0->>'feature' || '|' || (feature_feedback->0->>'quote') FROM "
              "insights.review_llm_analysis WHERE review_id = 'good-3'"),
            "battery|The battery lasts all day and charges quickly.");
  EXPECT_EQ(Q("SELECT content_hash FROM insights.review_llm_analysis WHERE review_id = 'good-3'"),
            LlmReviewer::ContentHash(rows[3]));
  // Metrics.
  EXPECT_EQ(metrics_->requests("ok").Value(), 2);
  EXPECT_EQ(metrics_->reviews("openai", "llm").Value(), 7);
  EXPECT_EQ(metrics_->sampled(3).Value(), 1);  // low star + flagged
  EXPECT_GT(metrics_->tokens("prompt").Value(), 100);
  EXPECT_GT(metrics_->tokens("completion").Value(), 50);
  EXPECT_EQ(llm_metrics_->llm_calls("openai", "ok").Value(), 2);
}

TEST_F(LlmReviewerTest, ServerWithoutJsonSchemaIsAskedWithJsonObject) {
  FakeModelBehaviour b;
  b.reject_json_schema = true;
  FakeReviewModel model(b);
  auto reviewer = Make(model);
  reviewer->Offer(Analysed(Reviews("a-", 3)));
  EXPECT_EQ(Drain(*reviewer), 3);
  // The 400 naming response_format, then the same request with json_object, and json_object from then on.
  reviewer->Offer(Analysed(Reviews("b-", 2)));
  EXPECT_EQ(Drain(*reviewer), 2);
  const auto requests = model.recorded();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(llm::ParseChatRequest(requests[0].body)->response_format, "json_schema");
  EXPECT_EQ(llm::ParseChatRequest(requests[1].body)->response_format, "json_object");
  EXPECT_EQ(llm::ParseChatRequest(requests[2].body)->response_format, "json_object");
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai'"), "5");
  // And a server asked with json_object from the start (--llm_review_response_format=json_object).
  FakeReviewModel plain;
  auto object_only = Make(plain, {}, /*json_schema=*/false);
  object_only->Offer(Analysed(Reviews("c-", 2)));
  EXPECT_EQ(Drain(*object_only), 2);
  EXPECT_EQ(llm::ParseChatRequest(plain.recorded()[0].body)->response_format, "json_object");
}

TEST_F(LlmReviewerTest, RateLimitHonoursRetryAfter) {
  FakeModelBehaviour b;
  b.rate_limited_first = 1;
  b.retry_after_seconds = 1;
  FakeReviewModel model(b);
  auto reviewer = Make(model);
  reviewer->Offer(Analysed(Reviews("a-", 2)));
  const absl::Time start = absl::Now();
  EXPECT_EQ(Drain(*reviewer), 2);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(950));  // waited as told, not the 10 ms backoff
  EXPECT_EQ(model.requests(), 2);
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai'"), "2");
  EXPECT_EQ(llm_metrics_->llm_calls("openai", "error").Value(), 1);
}

TEST_F(LlmReviewerTest, ServerStillLoadingAndNoUsageReported) {
  FakeModelBehaviour b;
  b.loading_first = 2;
  b.report_usage = false;
  FakeReviewModel model(b);
  auto reviewer = Make(model);
  reviewer->Offer(Analysed(Reviews("a-", 2)));
  EXPECT_EQ(Drain(*reviewer), 2);
  EXPECT_EQ(model.requests(), 3);  // two 503s retried with backoff, then the answer
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai'"), "2");
  // No usage in the answer: the tokens charged are estimated from the bytes of the prompt (~4 a token).
  auto sent = llm::ParseChatRequest(model.recorded()[2].body);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(metrics_->tokens("prompt").Value(),
            static_cast<int64_t>((sent->system.size() + sent->user.size()) / 4));
  EXPECT_GT(metrics_->tokens("completion").Value(), 20);
  EXPECT_EQ(reviewer->budget().tokens_left(),
            ReviewerOptions().tokens_per_day - static_cast<int64_t>(metrics_->tokens("prompt").Value() +
                                                                    metrics_->tokens("completion").Value()));
}

TEST_F(LlmReviewerTest, AnswerCutAtMaxTokensSplitsTheBatch) {
  FakeReviewModel model;
  ReviewerOptions o;
  o.batch_size = 4;
  // 120 tokens (~480 bytes): two reviews' answers fit, four do not (the fake cuts there, finish_reason
  // "length").
  auto reviewer = Make(model, o, true, /*max_tokens=*/120);
  reviewer->Offer(Analysed(Reviews("a-", 4)));
  EXPECT_EQ(Drain(*reviewer), 4);
  EXPECT_EQ(model.requests(), 3);  // 4 (cut), then 2 + 2
  EXPECT_EQ(metrics_->requests("truncated").Value(), 1);
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai'"), "4");
  // One review whose answer alone does not fit: the local engine answers it.
  FakeReviewModel tiny;
  auto cut = Make(tiny, o, true, /*max_tokens=*/20);
  cut->Offer(
      Analysed({Row("long-1", 2, "The strap broke on day one. The battery died too. The screen cracked.")}));
  EXPECT_EQ(Drain(*cut), 1);
  EXPECT_EQ(tiny.requests(), 1);  // not asked again: it would be cut again
  EXPECT_EQ(Backend("long-1"), "local/truncated");
  EXPECT_EQ(Q("SELECT model FROM insights.review_llm_analysis WHERE review_id = 'long-1'"),
            engine_->version());
  EXPECT_EQ(metrics_->fallbacks("truncated").Value(), 1);
}

TEST_F(LlmReviewerTest, ModelIgnoringTheSchemaFallsBackToTheLocalEngine) {
  FakeModelBehaviour b;
  b.ignore_schema = true;
  FakeReviewModel model(b);
  auto reviewer = Make(model);
  std::vector<ReviewRow> rows = {
      Row("bad-1", 1, "The strap broke after two days. Very disappointed with it."),
      Row("ok-1", 4, "The battery lasts all day. Good value for the money.")};
  reviewer->Offer(Analysed(rows));
  EXPECT_EQ(Drain(*reviewer), 2);
  EXPECT_EQ(model.requests(), 2);  // asked again once, then given up
  EXPECT_EQ(Backend("bad-1"), "local/invalid_output");
  EXPECT_EQ(Backend("ok-1"), "local/invalid_output");
  // The local engine's analysis: its issue ("broke after": durability), as an issue and a quality concern.
  EXPECT_EQ(Q("SELECT issues->0->>'category' FROM insights.review_llm_analysis WHERE review_id = 'bad-1'"),
            "durability");
  EXPECT_EQ(
      Q("SELECT quality_concerns->0->>'concern' FROM insights.review_llm_analysis WHERE review_id = 'bad-1'"),
      "durability");
  EXPECT_EQ(Q("SELECT label FROM insights.review_llm_analysis WHERE review_id = 'bad-1'"), "negative");
  EXPECT_EQ(metrics_->requests("invalid_output").Value(), 1);
  EXPECT_EQ(metrics_->fallbacks("invalid_output").Value(), 2);
  EXPECT_EQ(metrics_->reviews("local", "fallback").Value(), 2);
}

TEST_F(LlmReviewerTest, EachReviewFallsBackAloneWhenItsAnswerIsBad) {
  FakeModelBehaviour b;
  b.omit_ids = {"r2"};
  b.off_schema_ids = {"r3"};
  b.made_up_ids = {"r4"};
  FakeReviewModel model(b);
  ReviewerOptions o;
  o.batch_size = 5;
  auto reviewer = Make(model, o);
  // Same priority and age order = id order: r1..r5 are good-0..good-4.
  std::vector<ReviewRow> rows = Reviews("good-", 5);
  for (int i = 0; i < 5; ++i) rows[i].created_at = now_ - absl::Minutes(i);
  reviewer->Offer(Analysed(rows));
  EXPECT_EQ(Drain(*reviewer), 5);
  EXPECT_EQ(model.requests(), 1);
  EXPECT_EQ(Backend("good-0"), "openai/");
  EXPECT_EQ(Backend("good-1"), "local/missing");
  EXPECT_EQ(Backend("good-2"), "local/invalid");
  EXPECT_EQ(Backend("good-3"), "local/ungrounded");
  EXPECT_EQ(Backend("good-4"), "openai/");
}

TEST_F(LlmReviewerTest, SlowServerPastTheDeadlineFallsBack) {
  FakeModelBehaviour b;
  b.delay = absl::Seconds(4);
  FakeReviewModel model(b);
  ReviewerOptions o;
  o.call_timeout = absl::Milliseconds(600);
  auto reviewer = Make(model, o);
  reviewer->Offer(Analysed(Reviews("a-", 2)));
  const absl::Time start = absl::Now();
  EXPECT_EQ(Drain(*reviewer), 2);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(Backend("a-0"), "local/error");
  EXPECT_EQ(metrics_->requests("error").Value(), 1);
}

TEST_F(LlmReviewerTest, CachedByContentHashAndUnchangedReviewsSkipped) {
  auto redis_server = marketlens::testing::RedisServer::Create();
  ASSERT_THAT(redis_server, IsOk());
  redis::RedisOptions ro;
  ro.port = (*redis_server)->port();
  redis::RedisClient client(ro);
  redis::Cache cache(&client, {.prefix = "analyzer:llm_review:"});
  FakeReviewModel model;
  auto reviewer = Make(model, {}, true, 4000, &cache);
  std::vector<ReviewRow> rows = Reviews("a-", 2);
  reviewer->Offer(Analysed(rows));
  EXPECT_EQ(Drain(*reviewer), 2);
  EXPECT_EQ(model.requests(), 1);
  // The same review offered again (a re-analysis by the catch-up): already stored as it reads: skipped.
  reviewer->Offer(Analysed(rows));
  EXPECT_EQ(Drain(*reviewer), 0);
  EXPECT_EQ(metrics_->skipped().Value(), 2);
  // Another review with the same content (a copy-paste): the cached answer, no request.
  ReviewRow copy = rows[0];
  copy.id = "copy-1";
  reviewer->Offer(Analysed({copy}));
  EXPECT_EQ(Drain(*reviewer), 1);
  EXPECT_EQ(model.requests(), 1);
  EXPECT_EQ(Q("SELECT backend || ' ' || cached FROM insights.review_llm_analysis WHERE review_id = 'copy-1'"),
            "openai true");
  EXPECT_EQ(Q("SELECT feature_feedback->0->>'feature' FROM insights.review_llm_analysis WHERE review_id = "
              "'copy-1'"),
            "battery");
  EXPECT_EQ(metrics_->reviews("openai", "cache").Value(), 1);
  // An edit (new content, new version): asked again.
  ReviewRow edited = rows[1];
  edited.text = "Edited: the battery died after a week. The charger is fine.";
  edited.version = 2;
  reviewer->Offer(Analysed({edited}));
  EXPECT_EQ(Drain(*reviewer), 1);
  EXPECT_EQ(model.requests(), 2);
  EXPECT_EQ(Q("SELECT review_version FROM insights.review_llm_analysis WHERE review_id = 'a-1'"), "2");
  EXPECT_EQ(reviewer->CacheKey("x").size(), 64u);
  EXPECT_NE(reviewer->CacheKey("x"), reviewer->CacheKey("y"));
}

TEST_F(LlmReviewerTest, DailyBudgetsOfReviewsAndTokens) {
  FakeReviewModel model;
  ReviewerOptions o;
  o.batch_size = 4;
  o.reviews_per_day = 3;
  auto reviewer = Make(model, o);
  reviewer->Offer(Analysed(Reviews("a-", 5)));
  EXPECT_EQ(Drain(*reviewer), 3);  // the rest waits for tomorrow
  EXPECT_EQ(model.requests(), 1);
  EXPECT_EQ(FakeReviewModel::ReviewLines(llm::ParseChatRequest(model.recorded()[0].body)->user).size(), 3u);
  EXPECT_EQ(reviewer->queue().size(), 2u);
  EXPECT_EQ(metrics_->budget_exhausted("reviews").Value(), 1);
  EXPECT_EQ(metrics_->budget_remaining("reviews").Value(), 0);
  EXPECT_EQ(reviewer->RunOnce().value(), 0);  // paused: nothing sent
  EXPECT_EQ(model.requests(), 1);
  // The next UTC day: the budget is full again and the waiting reviews go.
  now_ = reviewer->budget().next_reset() + absl::Minutes(1);
  EXPECT_EQ(Drain(*reviewer), 2);
  EXPECT_EQ(model.requests(), 2);
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai'"), "5");

  // Tokens: a day's tokens fit about one batch of two; what the server reports is charged.
  FakeReviewModel model2;
  ReviewerOptions t;
  t.batch_size = 2;
  t.tokens_per_day = 2 * (t.answer_tokens_per_review + 40) + t.prompt_overhead_tokens + 50;
  auto by_tokens = Make(model2, t);
  by_tokens->Offer(Analysed(Reviews("t-", 4)));
  EXPECT_EQ(Drain(*by_tokens), 2);
  EXPECT_EQ(model2.requests(), 1);
  EXPECT_GE(metrics_->budget_exhausted("tokens").Value(), 1);
  EXPECT_LT(by_tokens->budget().tokens_left(), t.tokens_per_day);
  EXPECT_EQ(by_tokens->queue().size(), 2u);
}

TEST_F(LlmReviewerTest, SamplingPrefersNewLowStarAndFlaggedReviews) {
  SamplingPolicy none;
  none.sample_rate = 0;
  auto a = Analysed({Row("low", 1, "Not good at all, I would not buy this again from them."),
                     Row("flagged", 5, "The strap broke after two days. Otherwise nice enough I guess."),
                     Row("plain", 5, "Nice watch, I like the colour and the weight of it."),
                     Row("short", 1, "Bad.")});
  EXPECT_EQ(SamplePriority(a[0].first, a[0].second, none), 2);
  EXPECT_EQ(SamplePriority(a[1].first, a[1].second, none), 1);
  EXPECT_EQ(SamplePriority(a[2].first, a[2].second, none), -1);
  EXPECT_EQ(SamplePriority(a[3].first, a[3].second, none), -1);  // too short: nothing to ask about
  // The random share: by a hash of the id, close to the rate.
  SamplingPolicy tenth;
  tenth.sample_rate = 0.1;
  int sampled = 0;
  for (int i = 0; i < 20000; ++i) {
    ReviewRow r = a[2].first;
    r.id = absl::StrCat("rev-", i);
    if (SamplePriority(r, a[2].second, tenth) == 0) ++sampled;
  }
  EXPECT_NEAR(sampled / 20000.0, 0.1, 0.01);
  // The queue: priority first, then newest; full: the worst makes room.
  ReviewQueue q(3);
  std::vector<ReviewCandidate> c;
  c.push_back({Row("old-low", 1, "x", 48), {}, 2});
  c.push_back({Row("new-low", 1, "x", 1), {}, 2});
  c.push_back({Row("plain", 5, "x", 0), {}, 0});
  c.push_back({Row("both", 1, "x", 100), {}, 3});
  EXPECT_EQ(q.Push(std::move(c)), 1);  // "plain" dropped
  std::vector<std::string> order;
  for (auto& x : q.PopBest(10)) order.push_back(x.review.id);
  EXPECT_EQ(order, (std::vector<std::string>{"both", "new-low", "old-low"}));
}

// Reviews analysed before the mode was turned on (or queued when the process stopped): the backlog.
TEST_F(LlmReviewerTest, BacklogOfLowStarAndFlaggedReviewsWithoutAResult) {
  ASSERT_THAT(testing::AddProduct(*pool_, "p-1", "Kinetek Watch", "Kinetek", "Electronics"), IsOk());
  ASSERT_TRUE(testing::AddReview(*pool_, "old-low", "p-1", 1, "", "The strap broke after two days of use.",
                                 now_ - absl::Hours(48))
                  .ok());
  ASSERT_TRUE(testing::AddReview(*pool_, "new-low", "p-1", 2, "",
                                 "Not good at all, I would not buy it again.", now_ - absl::Hours(1))
                  .ok());
  ASSERT_TRUE(testing::AddReview(*pool_, "flagged", "p-1", 5, "",
                                 "The clasp broke after two days. Otherwise a nice watch.", now_)
                  .ok());
  ASSERT_TRUE(
      testing::AddReview(*pool_, "plain", "p-1", 5, "", "Nice watch, I like the colour and the weight.", now_)
          .ok());
  ASSERT_THAT(testing::AddReview(*pool_, "short", "p-1", 1, "", "Bad.", now_), IsOk());
  InsightsStore insights(pool_.get());
  AnalyzerMetrics pipeline_metrics(registry_);
  PipelineOptions po;
  po.train = false;
  Pipeline pipeline(&insights, engine_.get(), nullptr, po, &pipeline_metrics);  // no observer: mode off
  ASSERT_EQ(pipeline.CatchUp()->reviews, 5);

  FakeReviewModel model;
  ReviewerOptions o;
  o.batch_size = 2;
  auto reviewer = Make(model, o);
  auto n = reviewer->Backfill();
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 3);  // not "plain" (5 stars, nothing flagged), not "short"
  std::vector<std::string> order;
  for (auto& c : reviewer->queue().PopBest(10)) order.push_back(c.review.id);
  // Low stars and flagged first (old-low is both), then the newest.
  EXPECT_EQ(order, (std::vector<std::string>{"old-low", "new-low", "flagged"}));
  ASSERT_EQ(reviewer->Backfill().value(), 3);
  EXPECT_EQ(Drain(*reviewer), 3);
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai'"), "3");
  EXPECT_EQ(reviewer->Backfill().value(), 0);  // nothing left
}

TEST(DailyBudgetTest, FitsSpendsAndRollsOverAtUtcMidnight) {
  absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 3, 1, 23, 0, 0), absl::UTCTimeZone());
  DailyBudget budget(5, 1000, [&] { return now; });
  std::string why;
  EXPECT_EQ(budget.Fit({100, 100, 100}, 100, &why), 3);
  EXPECT_EQ(budget.Fit({400, 400, 400}, 100, &why), 2);  // 100 + 400 + 400 <= 1000
  budget.Spend(4, 950);
  EXPECT_EQ(budget.Fit({10}, 100, &why), 0);
  EXPECT_EQ(why, "tokens");
  budget.Spend(1, 0);
  EXPECT_EQ(budget.reviews_left(), 0);
  EXPECT_EQ(budget.Fit({1}, 0, &why), 0);
  EXPECT_EQ(why, "reviews");
  EXPECT_EQ(budget.next_reset(), absl::FromCivil(absl::CivilDay(2026, 3, 2), absl::UTCTimeZone()));
  now += absl::Hours(1);
  EXPECT_EQ(budget.reviews_left(), 5);
  EXPECT_EQ(budget.tokens_left(), 1000);
}

// The pipeline hands its analyses to the reviewer and goes on: a slow model does not hold up the stream.
TEST_F(LlmReviewerTest, PipelineDoesNotWaitForTheLlm) {
  ASSERT_THAT(testing::AddProduct(*pool_, "p-1", "Kinetek Watch", "Kinetek", "Electronics"), IsOk());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(testing::AddReview(*pool_, absl::StrCat("rv-", i), "p-1", i < 3 ? 1 : 5, "",
                                   absl::StrCat("Order ", i, ". The strap broke after two days of use."),
                                   now_ - absl::Hours(i))
                    .ok());
  }
  FakeModelBehaviour b;
  b.delay = absl::Milliseconds(1500);
  FakeReviewModel model(b);
  ReviewerOptions o;
  o.batch_size = 6;
  o.idle_wait = absl::Milliseconds(20);
  auto reviewer = Make(model, o);
  PipelineOptions po;
  po.train = false;
  InsightsStore insights(pool_.get());
  AnalyzerMetrics pipeline_metrics(registry_);
  Pipeline pipeline(&insights, engine_.get(), nullptr, po, &pipeline_metrics);
  pipeline.set_analysed_observer(
      [&](const std::vector<std::pair<ReviewRow, Analysis>>& analysed) { reviewer->Offer(analysed); });
  reviewer->Start();
  const absl::Time start = absl::Now();
  auto r = pipeline.CatchUp();
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->reviews, 6);
  EXPECT_LT(took, absl::Seconds(1));  // the model takes 1.5 s; the pipeline does not wait for it
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_analysis"), "6");
  for (int i = 0; i < 100 && Q("SELECT count(*) FROM insights.review_llm_analysis") != "6"; ++i)
    absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Q("SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai'"), "6");
  reviewer->Stop();
}

}  // namespace
}  // namespace marketlens::analyzer::llm_review
