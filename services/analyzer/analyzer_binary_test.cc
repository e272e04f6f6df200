// The analyzer binary as it runs in the stack (RunService, its own flags), against a real PostgreSQL, Redis
// and an OpenAI-compatible server started by the test: it trains and catches up at start, follows the
// review stream (lag measured), serves the gRPC API with the openai backend (and the local fallback), exposes
// its metrics, and exits cleanly on SIGTERM.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/client.h"
#include "common/testing/child_process.h"
#include "common/testing/http_get.h"
#include "common/testing/free_port.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/analyzer/v1/analyzer.grpc.pb.h"
#include "services/analyzer/engine/aspect_tagger.h"
#include "services/analyzer/llm/fake_llm_server.h"
#include "services/analyzer/raw_data_fixture.h"

extern char** environ;

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;

using ::marketlens::testing::ChildProcess;
using ::marketlens::testing::HttpGet;
using ::marketlens::testing::IsOk;

namespace v1 = ::marketlens::analyzer::v1;

TEST(AnalyzerBinaryTest, TrainsCatchesUpFollowsTheStreamServesAndDrains) {
  auto pg = marketlens::testing::PostgresServer::StartOrDie();
  auto pool = CreateMigratedDatabaseOrFail(*pg).pool;
  ASSERT_NE(pool, nullptr);
  auto redis_server = marketlens::testing::RedisServer::Create();
  ASSERT_THAT(redis_server, IsOk());
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  ASSERT_THAT(testing::AddProduct(*pool, "p-1", "Voltix Speaker", "Voltix", "Electronics"), IsOk());
  ASSERT_THAT(testing::AddProduct(*pool, "p-2", "Sonara Earbuds", "Sonara", "Electronics"), IsOk());
  ASSERT_TRUE(testing::AddReviews(*pool, "a", "p-1", 60, true, now - absl::Hours(24 * 200),
                                  now - absl::Hours(24 * 30))
                  .ok());
  ASSERT_THAT(testing::AddReviews(*pool, "b", "p-2", 60, false, now - absl::Hours(24 * 200), now, 2), IsOk());
  // Reviews only a model trained on the ratings reads right, so the gate lets the model go live.
  ASSERT_THAT(testing::AddProduct(*pool, "p-3", "Kinetek Watch", "Kinetek", "Electronics"), IsOk());
  ASSERT_TRUE(testing::AddDomainWordReviews(*pool, "c", "p-3", 60, now - absl::Hours(24 * 200),
                                            now - absl::Hours(24 * 30))
                  .ok());

  llm::FakeLlmServer llm_server([](const llm::HttpRequest& req) {
    return llm::ChatCompletion(
        R"({"sentiment":-0.8,"label":"negative","aspects":[{"aspect":"hinge","polarity":-0.9,"quote":"The hinge cracked."}],"issues":[{"category":"durability","sentence":"The hinge cracked."}]})");
  });

  const int grpc_port = *marketlens::testing::PickFreePort();
  const int metrics_port = *marketlens::testing::PickFreePort();
  const std::string dsn =
      absl::StrCat("host=127.0.0.1 port=", pg->port(),
                   " dbname=", testing::Scalar(*pool, "SELECT current_database()"), " user=postgres");
  const std::string log = absl::StrCat(getenv("TEST_TMPDIR"), "/analyzer.log");
  setenv("MARKETLENS_LLM_API_KEY", "sk-from-env", 1);  // the API key comes from the environment
  auto process = std::make_unique<ChildProcess>(
      std::vector<std::string>{
          "services/analyzer/analyzer", absl::StrCat("--grpc_port=", grpc_port),
          absl::StrCat("--metrics_port=", metrics_port), "--grpc_host=127.0.0.1", "--pg_dsn=" + dsn,
          absl::StrCat("--redis_address=127.0.0.1:", (*redis_server)->port()), "--catchup_interval=1s",
          "--llm_backend=openai", "--llm_base_url=" + llm_server.base_url(), "--llm_model=fake",
          "--drain_seconds=2"},
      log);
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials());
  auto stub = v1::AnalyzerService::NewStub(channel);

  // Start-up: the model is trained and everything is analysed.
  auto insights = [&](const std::string& id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::GetProductInsightsRequest req;
    req.set_product_id(id);
    v1::ProductInsights p;
    return stub->GetProductInsights(&ctx, req, &p).ok() ? p.review_count() : -1;
  };
  absl::Time until = absl::Now() + absl::Seconds(60);
  while (absl::Now() < until && (insights("p-1") != 60 || insights("p-2") != 60))
    absl::SleepFor(absl::Milliseconds(100));
  ASSERT_EQ(insights("p-2"), 60) << process->Log();
  EXPECT_EQ(testing::Scalar(*pool, "SELECT count(*) FROM insights.models WHERE active"), "1");

  // A new review announced on the stream: insights follow within about a second.
  ASSERT_TRUE(
      testing::AddReview(*pool, "new-1", "p-1", 1, "Broke", "The handle snapped after a day.", now).ok());
  redis::RedisOptions ro;
  ro.port = (*redis_server)->port();
  redis::RedisClient redis(ro);
  const absl::Time announced = absl::Now();
  ASSERT_TRUE(
      redis
          .XAdd("marketlens:reviews",
                {{"event", "created"}, {"review_id", "new-1"}, {"product_id", "p-1"}, {"version", "1"}})
          .ok());
  until = absl::Now() + absl::Seconds(20);
  while (absl::Now() < until && insights("p-1") != 61) absl::SleepFor(absl::Milliseconds(10));
  const absl::Duration lag = absl::Now() - announced;
  ASSERT_EQ(insights("p-1"), 61) << process->Log();
  std::printf("end-to-end lag, stream entry -> product insights: %.0f ms\n", absl::ToDoubleMilliseconds(lag));
  EXPECT_LT(lag, absl::Seconds(5));

  // AnalyzeText through the openai backend; its quotes are checked against the text.
  grpc::ClientContext ctx;
  v1::AnalyzeTextRequest req;
  req.set_text("Nice look. The hinge cracked.");
  v1::TextAnalysis resp;
  ASSERT_THAT(stub->AnalyzeText(&ctx, req, &resp), IsOk());
  EXPECT_EQ(resp.backend(), "openai");
  EXPECT_EQ(resp.issues(0).category(), "durability");
  ASSERT_GE(llm_server.requests(), 1);
  EXPECT_EQ(llm_server.recorded()[0].headers.at("authorization"), "Bearer sk-from-env");
  // The same answer for a text that does not contain the quote: the local engine answers instead.
  grpc::ClientContext ctx2;
  req.set_text("Lovely kettle, works great.");
  ASSERT_THAT(stub->AnalyzeText(&ctx2, req, &resp), IsOk());
  EXPECT_EQ(resp.backend(), "local");
  EXPECT_EQ(resp.label(), "positive");
  EXPECT_EQ(resp.model_version().rfind("local-2+tflr-", 0), 0u) << resp.model_version();

  // GenerateBrief: the openai backend answers outside the brief's schema (it always sends a review
  // analysis), so the local engine writes the brief through the same LlmBackend interface.
  grpc::ClientContext ctx3;
  ctx3.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GenerateBriefRequest brief_req;
  brief_req.set_brand("Voltix");
  brief_req.set_product("Speaker");
  brief_req.set_platform("tiktok");
  v1::GenerateBriefResponse brief;
  ASSERT_THAT(stub->GenerateBrief(&ctx3, brief_req, &brief), IsOk());
  EXPECT_EQ(brief.backend(), "local");
  EXPECT_EQ(brief.product_id(), "p-1");
  EXPECT_FALSE(brief.caption().empty());

  // Metrics.
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  EXPECT_TRUE(absl::StrContains(metrics, "analyzer_reviews_analyzed_total{source=\"stream\"} 1"))
      << metrics.substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(metrics, "analyzer_llm_calls_total{backend=\"openai\",outcome=\"ok\"}"));
  EXPECT_TRUE(absl::StrContains(metrics, "analyzer_llm_fallbacks_total{reason=\"ungrounded\"} 1"));
  EXPECT_TRUE(
      absl::StrContains(metrics, "analyzer_llm_calls_total{backend=\"openai\",outcome=\"invalid_output\"}"));
  // The local engine answered twice through the LlmBackend interface: AnalyzeText's fallback and the brief.
  EXPECT_TRUE(absl::StrContains(metrics, "analyzer_llm_calls_total{backend=\"local\",outcome=\"ok\"} 2"))
      << metrics;

  // The retrieval index was loaded from Postgres at start (180 reviews, maybe the new one too).
  EXPECT_TRUE(absl::StrContains(metrics, "analyzer_retrieval_syncs_total{kind=\"full\",outcome=\"ok\"} 1"));
  EXPECT_TRUE(absl::StrContains(metrics, "analyzer_retrieval_documents{source=\"review\"} 18")) << metrics;

  // SIGTERM: a clean exit.
  EXPECT_EQ(process->Kill(SIGTERM), 0) << process->Log();
}

// SIGTERM in the middle of a training run (150k rated reviews, several seconds of work): the run is
// cancelled, the process drains and exits normally (code 0) within about a second of the drain, without the
// last-resort exit.
TEST(AnalyzerBinaryTest, SigtermInterruptsTrainingAndExitsNormally) {
  auto pg = marketlens::testing::PostgresServer::StartOrDie();
  auto pool = CreateMigratedDatabaseOrFail(*pg).pool;
  ASSERT_NE(pool, nullptr);
  ASSERT_THAT(testing::AddProduct(*pool, "p-1", "Voltix Speaker", "Voltix", "Electronics"), IsOk());
  ASSERT_TRUE(
      pool->Exec("INSERT INTO raw.reviews (id, product_id, rating, title, text, created_at, updated_at)"
                 " SELECT 'bulk-' || g, 'p-1', CASE WHEN g % 3 = 0 THEN 1 ELSE 5 END, 'Review ' || g,"
                 "  (ARRAY['sturdy', 'flimsy', 'solid', 'wobbly', 'fine'])[1 + g % 5] || ' stand, '"
                 "  || (ARRAY['the base', 'my desk', 'the arm', 'in black'])[1 + g % 4] || ' is '"
                 "  || (ARRAY['great', 'poor', 'ok', 'loose', 'tight', 'heavy'])[1 + g % 6] || ' after '"
                 "  || g % 97 || ' days. Returned it? ' || CASE WHEN g % 3 = 0 THEN 'yes' ELSE 'no' END,"
                 "  timestamptz '2025-01-01' + g * interval '1 minute',"
                 "  timestamptz '2025-01-01' + g * interval '1 minute'"
                 " FROM generate_series(1, 150000) g")
          .ok());
  const int grpc_port = *marketlens::testing::PickFreePort();
  const int metrics_port = *marketlens::testing::PickFreePort();
  const std::string dsn =
      absl::StrCat("host=127.0.0.1 port=", pg->port(),
                   " dbname=", testing::Scalar(*pool, "SELECT current_database()"), " user=postgres");
  const std::string log = absl::StrCat(getenv("TEST_TMPDIR"), "/analyzer-train.log");
  ChildProcess process(
      std::vector<std::string>{"services/analyzer/analyzer", absl::StrCat("--grpc_port=", grpc_port),
                               absl::StrCat("--metrics_port=", metrics_port), "--grpc_host=127.0.0.1",
                               "--pg_dsn=" + dsn, "--redis_address=127.0.0.1:1", "--drain_seconds=1"},
      log);
  // Wait until the training run has started (the pipeline logs it), then a little into it.
  absl::Time until = absl::Now() + absl::Seconds(40);
  while (absl::Now() < until && !absl::StrContains(process.Log(), "training the weak-label model"))
    absl::SleepFor(absl::Milliseconds(20));
  ASSERT_TRUE(absl::StrContains(process.Log(), "training the weak-label model")) << process.Log();
  absl::SleepFor(absl::Milliseconds(300));  // inside the run (feature extraction takes seconds here)
  ASSERT_FALSE(absl::StrContains(process.Log(), "weak-label model trained")) << "training ended too soon";
  const absl::Time term = absl::Now();
  EXPECT_EQ(process.Kill(SIGTERM, absl::Seconds(10)), 0) << process.Log();
  const absl::Duration exit_time = absl::Now() - term;
  std::printf("SIGTERM during training -> exit in %.0f ms (drain_seconds=1)\n",
              absl::ToDoubleMilliseconds(exit_time));
  EXPECT_LT(exit_time, absl::Seconds(3));
  const std::string out = process.Log();
  EXPECT_TRUE(absl::StrContains(out, "training cancelled")) << out;
  EXPECT_FALSE(absl::StrContains(out, "exiting without waiting")) << out;
  EXPECT_EQ(testing::Scalar(*pool, "SELECT count(*) FROM insights.models"), "0");
}

// --aspect_model: the binary loads a tagger (trained here on a few sentences written for the test) and
// AnalyzeText reports its open-vocabulary terms ("keyboard", which the taxonomy lacks); a model file that is
// not one stops start-up with a message naming the flag.
TEST(AnalyzerBinaryTest, AspectModelFlag) {
  std::vector<AnnotatedSentence> corpus;
  const char* terms[] = {"keyboard", "trackpad", "hinge", "fan", "webcam"};
  for (int k = 0; k < 40; ++k) {
    const std::string term = terms[k % 5];
    const std::string before = k % 2 ? "The " : "I hate the ";
    const std::string after = k % 2 ? " is great." : ".";
    const uint32_t from = static_cast<uint32_t>(before.size()),
                   to = from + static_cast<uint32_t>(term.size());
    corpus.push_back({absl::StrCat(k),
                      before + term + after,
                      {{term, k % 2 ? "positive" : "negative", from, to, from, to}}});
  }
  auto tagger = AspectTagger::Train(corpus);
  ASSERT_THAT(tagger, IsOk());
  const std::string model = absl::StrCat(getenv("TEST_TMPDIR"), "/aspects.model");
  std::ofstream(model) << tagger->Serialize();
  const std::string bad_model = absl::StrCat(getenv("TEST_TMPDIR"), "/not-a.model");
  std::ofstream(bad_model) << "hello\n";

  auto pg = marketlens::testing::PostgresServer::StartOrDie();
  auto pool = CreateMigratedDatabaseOrFail(*pg).pool;
  ASSERT_NE(pool, nullptr);
  const std::string dsn =
      absl::StrCat("host=127.0.0.1 port=", pg->port(),
                   " dbname=", testing::Scalar(*pool, "SELECT current_database()"), " user=postgres");
  auto args = [&](int grpc_port, const std::string& model_path) {
    return std::vector<std::string>{"services/analyzer/analyzer",
                                    absl::StrCat("--grpc_port=", grpc_port),
                                    absl::StrCat("--metrics_port=", *marketlens::testing::PickFreePort()),
                                    "--grpc_host=127.0.0.1",
                                    "--pg_dsn=" + dsn,
                                    "--redis_address=127.0.0.1:1",
                                    "--pipeline=false",
                                    "--drain_seconds=1",
                                    "--aspect_model=" + model_path};
  };

  const int grpc_port = *marketlens::testing::PickFreePort();
  ChildProcess process(args(grpc_port, model), absl::StrCat(getenv("TEST_TMPDIR"), "/analyzer-aspects.log"));
  auto stub = v1::AnalyzerService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials()));
  v1::TextAnalysis resp;
  bool ok = false;
  for (const absl::Time until = absl::Now() + absl::Seconds(30); !ok && absl::Now() < until;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::AnalyzeTextRequest req;
    req.set_text("Honestly the keyboard is great. I hate the fan.");
    ok = stub->AnalyzeText(&ctx, req, &resp).ok();
    if (!ok) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(ok) << process.Log();
  EXPECT_TRUE(absl::StrContains(resp.model_version(), "+" + tagger->version())) << resp.model_version();
  std::map<std::string, v1::AspectMention> aspects;
  for (const auto& a : resp.aspects()) aspects[a.aspect()] = a;
  ASSERT_TRUE(aspects.contains("keyboard")) << resp.DebugString();
  EXPECT_GT(aspects["keyboard"].polarity(), 0.2);
  EXPECT_TRUE(aspects["keyboard"].discovered());
  EXPECT_EQ(aspects["keyboard"].quote(), "Honestly the keyboard is great.");
  ASSERT_TRUE(aspects.contains("fan")) << resp.DebugString();
  EXPECT_LT(aspects["fan"].polarity(), -0.2);
  EXPECT_EQ(process.Kill(SIGTERM), 0) << process.Log();

  ChildProcess bad(args(*marketlens::testing::PickFreePort(), bad_model),
                   absl::StrCat(getenv("TEST_TMPDIR"), "/analyzer-bad-model.log"));
  int code = -1;
  for (const absl::Time until = absl::Now() + absl::Seconds(20); absl::Now() < until;) {
    if (absl::StrContains(bad.Log(), "aspect_model")) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  code = bad.Kill(SIGTERM, absl::Seconds(5));
  EXPECT_TRUE(absl::StrContains(bad.Log(), "--aspect_model: " + bad_model)) << bad.Log();
  EXPECT_NE(code, 0) << bad.Log();
}

}  // namespace
}  // namespace marketlens::analyzer
