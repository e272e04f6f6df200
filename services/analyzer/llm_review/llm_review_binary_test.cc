// The analyzer binary with --llm_review (its flags, the wiring in main.cc): against a real PostgreSQL, Redis
// and the fake OpenAI-compatible model, the catch-up's low-star and flagged reviews end up analysed by the
// model in insights.review_llm_analysis, its metrics are exposed, and SIGTERM still exits cleanly.
// --llm_review without --llm_backend=openai is refused at start.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/child_process.h"
#include "common/testing/http_get.h"
#include "common/testing/free_port.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/llm_review/fake_review_model.h"
#include "services/analyzer/raw_data_fixture.h"

extern char** environ;

namespace marketlens::analyzer::llm_review {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;

using ::marketlens::testing::ChildProcess;
using ::marketlens::testing::HttpGet;
using ::marketlens::testing::IsOk;

// The value of a sample line "<name>{<labels>} <value>" (0 when absent).
double MetricValue(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find(series + " ");
  if (at == std::string::npos) return 0;
  return std::strtod(metrics.c_str() + at + series.size() + 1, nullptr);
}

TEST(LlmReviewBinaryTest, SampledReviewsAnalysedByTheModelInTheBackground) {
  auto pg = marketlens::testing::PostgresServer::StartOrDie();
  auto pool = CreateMigratedDatabaseOrFail(*pg).pool;
  ASSERT_NE(pool, nullptr);
  auto redis_server = marketlens::testing::RedisServer::Create();
  ASSERT_THAT(redis_server, IsOk());
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  ASSERT_THAT(analyzer::testing::AddProduct(*pool, "p-1", "Voltix Speaker", "Voltix", "Electronics"), IsOk());
  ASSERT_TRUE(
      analyzer::testing::AddReviews(*pool, "good", "p-1", 30, true, now - absl::Hours(24 * 100), now).ok());
  ASSERT_TRUE(
      analyzer::testing::AddReviews(*pool, "bad", "p-1", 12, false, now - absl::Hours(24 * 100), now, 2)
          .ok());
  FakeReviewModel model;

  const int grpc_port = *marketlens::testing::PickFreePort();
  const int metrics_port = *marketlens::testing::PickFreePort();
  const std::string dsn = absl::StrCat(
      "host=127.0.0.1 port=", pg->port(),
      " dbname=", analyzer::testing::Scalar(*pool, "SELECT current_database()"), " user=postgres");
  const std::string log = absl::StrCat(getenv("TEST_TMPDIR"), "/analyzer-llm-review.log");
  auto process = std::make_unique<ChildProcess>(
      std::vector<std::string>{
          "services/analyzer/analyzer", absl::StrCat("--grpc_port=", grpc_port),
          absl::StrCat("--metrics_port=", metrics_port), "--grpc_host=127.0.0.1", "--pg_dsn=" + dsn,
          absl::StrCat("--redis_address=127.0.0.1:", (*redis_server)->port()), "--catchup_interval=1s",
          "--train=false", "--llm_backend=openai", "--llm_base_url=" + model.base_url(),
          "--llm_model=fake-model", "--llm_review", "--llm_review_sample_rate=0", "--llm_review_batch_size=5",
          "--drain_seconds=1"},
      log);
  // The reviews the sampling policy picks: low stars, or flagged by the local engine.
  const std::string expected_sql =
      "SELECT count(*) FROM insights.review_analysis a JOIN raw.reviews r ON r.id = a.review_id"
      " WHERE (r.rating <= 2 OR a.issues <> '[]'::jsonb OR 'rating_mismatch' = ANY(a.quality_flags))"
      " AND NOT ('too_short' = ANY(a.quality_flags) OR 'empty' = ANY(a.quality_flags))";
  std::string analysed, expected;
  for (absl::Time until = absl::Now() + absl::Seconds(60); absl::Now() < until;) {
    analysed = analyzer::testing::Scalar(*pool, "SELECT count(*) FROM insights.review_analysis");
    expected = analyzer::testing::Scalar(*pool, expected_sql);
    if (analysed == "42" &&
        analyzer::testing::Scalar(*pool, "SELECT count(*) FROM insights.review_llm_analysis") == expected)
      break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(analysed, "42") << process->Log();
  EXPECT_GE(std::stoi(expected), 12);  // every low-star review at least
  EXPECT_EQ(analyzer::testing::Scalar(
                *pool,
                "SELECT count(*) FROM insights.review_llm_analysis WHERE backend = 'openai' AND model = "
                "'fake-model'"),
            expected)
      << process->Log();
  EXPECT_EQ(analyzer::testing::Scalar(*pool,
                                      "SELECT count(*) FROM insights.review_llm_analysis l JOIN "
                                      "raw.reviews r ON r.id = l.review_id WHERE r.rating <= 2"),
            "12");
  EXPECT_GE(model.requests(), 3);  // batches of at most 5
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  // Asked (source llm) or, for a text another review already had (the generator repeats some), from the
  // cache; the rows say which.
  const double asked =
      MetricValue(metrics, "analyzer_llm_review_reviews_total{backend=\"openai\",source=\"llm\"}");
  const double cached =
      MetricValue(metrics, "analyzer_llm_review_reviews_total{backend=\"openai\",source=\"cache\"}");
  EXPECT_EQ(asked + cached, std::stoi(expected)) << metrics.substr(0, 3000);
  EXPECT_GE(asked, 1);
  EXPECT_EQ(
      analyzer::testing::Scalar(*pool, "SELECT count(*) FROM insights.review_llm_analysis WHERE cached"),
      absl::StrCat(cached));
  EXPECT_TRUE(absl::StrContains(metrics, "analyzer_llm_review_budget_remaining{budget=\"reviews\"}"));
  EXPECT_TRUE(absl::StrContains(metrics, "analyzer_llm_review_requests_total{outcome=\"ok\"}"));
  EXPECT_EQ(process->Kill(SIGTERM), 0) << process->Log();

  // --llm_review without the openai backend: refused at start, saying why.
  const std::string log2 = absl::StrCat(getenv("TEST_TMPDIR"), "/analyzer-llm-review-local.log");
  ChildProcess refused({"services/analyzer/analyzer", absl::StrCat("--grpc_port=", grpc_port),
                        absl::StrCat("--metrics_port=", metrics_port), "--grpc_host=127.0.0.1",
                        "--pg_dsn=" + dsn, "--redis_address=127.0.0.1:1", "--train=false", "--llm_review"},
                       log2);
  EXPECT_NE(refused.Kill(0), 0);
  EXPECT_TRUE(absl::StrContains(refused.Log(), "--llm_review needs --llm_backend=openai")) << refused.Log();

  // --llm_review without the pipeline it rides on: refused too, not silently ignored.
  const std::string log3 = absl::StrCat(getenv("TEST_TMPDIR"), "/analyzer-llm-review-nopipeline.log");
  ChildProcess no_pipeline({"services/analyzer/analyzer", absl::StrCat("--grpc_port=", grpc_port),
                            absl::StrCat("--metrics_port=", metrics_port), "--grpc_host=127.0.0.1",
                            "--pg_dsn=" + dsn, "--redis_address=127.0.0.1:1", "--pipeline=false",
                            "--llm_backend=openai", "--llm_base_url=http://127.0.0.1:1", "--llm_review"},
                           log3);
  EXPECT_NE(no_pipeline.Kill(0), 0);
  EXPECT_TRUE(absl::StrContains(no_pipeline.Log(), "--llm_review needs the pipeline")) << no_pipeline.Log();
}

}  // namespace
}  // namespace marketlens::analyzer::llm_review
