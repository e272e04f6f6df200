// The real //services/recommender:recommender binary against a throwaway PostgreSQL and Redis: it starts
// on collected data with no model, bootstraps one (train, register, promote) by itself, serves personal and
// cold-start recommendations and feedback over gRPC, picks up a model trained and promoted by another
// process (the real //services/recommender:cli, as the training CronJob runs it, with no access to the
// service's disk: the artifact travels through Postgres), exports the model's age, and exits 0 on SIGTERM
// after draining.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/macros.h"
#include "common/testing/child_process.h"
#include "common/testing/http_get.h"
#include "common/testing/free_port.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/migrated_database.h"
#include "common/testing/redis_fixture.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/recommender/v1/recommender.grpc.pb.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::IsOk;
using ::marketlens::testing::SharedPostgresServer;

namespace v1 = ::marketlens::recommender::v1;

// The value of an unlabelled sample `name` in Prometheus text, or -1.
double MetricValue(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::strtod(line.c_str() + name.size() + 1, nullptr);
  }
  return -1;
}

TEST(RecommenderBinaryTest, BootstrapsServesAndDrains) {
  std::string dsn;
  auto db = CreateMigratedDatabaseOrFail(SharedPostgresServer(), {.pool_size = 2});
  dsn = db.dsn;
  auto pg = std::move(db.pool);
  ASSERT_NE(pg, nullptr);
  auto redis = marketlens::testing::RedisServer::Create();
  ASSERT_THAT(redis, IsOk());

  // What the collector would have stored: products and shop interactions with planted clusters.
  SyntheticData world = GenerateSynthetic(
      {.users = 300, .items = 60, .clusters = 3, .events_per_user = 15, .seed = 4, .shop_events = true});
  absl::Status loaded = pg->Transact([&](postgres::Tx& tx) -> absl::Status {
    for (const auto& [id, info] : world.catalog) {
      RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO raw.products (id, title, category, description, price_cents, stock, updated_at) "
          "VALUES ($1, $2, $3, $4, 999, 10, now())",
          id, info.title, info.category, info.description));
    }
    ASSIGN_OR_RETURN(auto copy, tx.Copy("raw.interactions", {"id", "customer_id", "product_id", "type",
                                                             "session_id", "occurred_at"}));
    for (size_t k = 0; k < world.log.events.size(); ++k) {
      const Event& e = world.log.events[k];
      const std::string id = absl::StrCat("I", k);
      const std::string type(EventTypeName(e.type));
      const std::string session = e.session >= 0 ? world.log.sessions.Name(e.session) : "";
      const std::string at =
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(e.timestamp), absl::UTCTimeZone());
      RETURN_IF_ERROR(copy->WriteRow(
          {id, world.log.users.Name(e.user), world.log.items.Name(e.item), type, session, at}));
    }
    return copy->Finish().status();
  });
  ASSERT_THAT(loaded, IsOk());

  auto grpc_port = marketlens::testing::PickFreePort();
  auto metrics_port = marketlens::testing::PickFreePort();
  ASSERT_THAT(grpc_port, IsOk());
  ASSERT_THAT(metrics_port, IsOk());
  const std::string models_dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/models");
  std::vector<std::string> args = {"services/recommender/recommender",
                                   absl::StrCat("--grpc_port=", *grpc_port),
                                   absl::StrCat("--metrics_port=", *metrics_port),
                                   "--grpc_host=127.0.0.1",
                                   absl::StrCat("--pg_dsn=", dsn),
                                   absl::StrCat("--redis_address=127.0.0.1:", (*redis)->port()),
                                   absl::StrCat("--artifact_dir=", models_dir),
                                   "--bootstrap_retry_interval=1s",
                                   "--model_poll_interval=1s",
                                   "--experiments_refresh_interval=1s",
                                   "--drain_seconds=5",
                                   "--log_level=warning"};
  marketlens::testing::ChildProcess process(args,
                                            absl::StrCat(std::getenv("TEST_TMPDIR"), "/recommender.log"));
  auto stub = v1::RecommenderService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", *grpc_port), grpc::InsecureChannelCredentials()));

  // Wait for the bootstrap model.
  const std::string user = "u0";
  v1::RecommendResponse resp;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::RecommendRequest req;
    req.set_user_id(user);
    req.set_n(5);
    resp.Clear();
    if (stub->Recommend(&ctx, req, &resp).ok() && !resp.model_version().empty()) break;
    ASSERT_TRUE(process.Running()) << "the service exited during start-up: " << process.Log();
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_FALSE(resp.model_version().empty()) << "no model was bootstrapped";
  ASSERT_EQ(resp.items_size(), 5);
  {
    // Recommend is a callback-API method: the common server's interceptors still see it (the request id
    // comes back in the initial metadata) and its arena-allocated answer is complete.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("x-request-id", "main-test-recommend-1");
    v1::RecommendRequest req;
    req.set_user_id(user);
    req.set_n(5);
    v1::RecommendResponse again;
    ASSERT_THAT(stub->Recommend(&ctx, req, &again), IsOk());
    auto id = ctx.GetServerInitialMetadata().find("x-request-id");
    ASSERT_NE(id, ctx.GetServerInitialMetadata().end());
    EXPECT_EQ(std::string(id->second.data(), id->second.size()), "main-test-recommend-1");
    EXPECT_EQ(again.SerializeAsString(), resp.SerializeAsString());  // same shopper, same model: same list
  }
  // Their own taste cluster first, but at most 3 per category (the default diversity cap; category =
  // cluster).
  int own_cluster = 0;
  for (const auto& item : resp.items()) {
    own_cluster += SyntheticItemCluster(item.item_id(), 3) == 0;
    EXPECT_FALSE(item.reason().empty());
  }
  EXPECT_EQ(own_cluster, 3);

  grpc::ClientContext list_ctx;
  v1::ListModelsResponse models;
  ASSERT_THAT(stub->ListModels(&list_ctx, {}, &models), IsOk());
  ASSERT_EQ(models.models_size(), 1);
  EXPECT_TRUE(models.models(0).promoted());
  EXPECT_GT(models.models(0).metrics().at("ndcg@10"), models.models(0).metrics().at("popularity.ndcg@10"));

  grpc::ClientContext fb_ctx;
  v1::RecordFeedbackRequest fb;
  fb.set_user_id(user);
  fb.set_item_id("i1");
  fb.set_event(v1::FEEDBACK_EVENT_DO_NOT_SHOW);
  v1::RecordFeedbackResponse fb_resp;
  ASSERT_THAT(stub->RecordFeedback(&fb_ctx, fb, &fb_resp), IsOk());

  // The metrics show the serving model's age (trained a moment ago).
  const std::string metrics_text = marketlens::testing::HttpGet(*metrics_port, "/metrics");
  const double age = MetricValue(metrics_text, "recommender_model_age_seconds");
  EXPECT_GE(age, 0) << metrics_text.substr(0, 300);
  EXPECT_LT(age, 600);
  EXPECT_GT(MetricValue(metrics_text, "recommender_model_trained_timestamp_seconds"), 1.6e9);

  // Another process trains, registers and promotes a model (the CronJob's command line), with its own
  // working directory and no artifact directory at all; the running service picks it up by polling.
  const std::string bootstrap_version = models.models(0).version();
  const std::string cli_dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/cli-job");
  ASSERT_EQ(std::system(absl::StrCat("mkdir -p '", cli_dir, "'").c_str()), 0);
  const std::string cli_log = absl::StrCat(cli_dir, "/train.log");
  const std::string command = absl::StrCat(
      "cd '", cli_dir, "' && MARKETLENS_PG_DSN='", dsn, "' '", std::getenv("TEST_SRCDIR"), "/",
      std::getenv("TEST_WORKSPACE"),
      "/services/recommender/cli' train --source postgres --register --promote --keep 1 --version "
      "cronjob-v2 --no_evaluate --threads 1 > '",
      cli_log, "' 2>&1");
  const int cli_status = std::system(command.c_str());
  std::ifstream log_in(cli_log);
  const std::string cli_output((std::istreambuf_iterator<char>(log_in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(cli_status, 0) << cli_output;
  const absl::Time swap_deadline = absl::Now() + absl::Seconds(20);
  std::string serving;
  while (absl::Now() < swap_deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::RecommendRequest req;
    req.set_user_id(user);
    req.set_n(5);
    v1::RecommendResponse r;
    if (stub->Recommend(&ctx, req, &r).ok()) serving = r.model_version();
    if (serving == "cronjob-v2") break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(serving, "cronjob-v2") << cli_output;
  // --keep 1 pruned the bootstrap model: its registry row and stored artifact are gone, and the
  // service's local cache holds only the model it serves.
  auto stored = pg->Exec("SELECT string_agg(version, ',') FROM recsys.model_artifacts");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ((*stored)[0][0].as<std::string>(""), "cronjob-v2");
  EXPECT_EQ(std::system(absl::StrCat("test -s '", models_dir, "/cache/cronjob-v2.mlrec'").c_str()), 0);
  // The old model is unloaded (and its cached copy removed) at the next experiments refresh.
  const std::string old_cache = absl::StrCat(models_dir, "/cache/", bootstrap_version, ".mlrec");
  const absl::Time cache_deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < cache_deadline && ::access(old_cache.c_str(), F_OK) == 0)
    absl::SleepFor(absl::Milliseconds(100));
  EXPECT_NE(::access(old_cache.c_str(), F_OK), 0) << old_cache;

  grpc::ClientContext bad_ctx;
  v1::RecommendRequest bad;
  bad.set_n(-3);
  EXPECT_EQ(stub->Recommend(&bad_ctx, bad, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // SIGTERM: drained, background work stopped in the shutdown hooks, exit 0.
  EXPECT_EQ(process.Kill(SIGTERM, absl::Seconds(20)), 0) << process.Log();
  // The feedback reached Postgres before the exit.
  auto events = pg->Exec("SELECT count(*) FROM recsys.events WHERE user_id = 'u0' AND event = 'do_not_show'");
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ((*events)[0][0].as<int>(), 1);
}

// A flag out of range is refused at start: exit 2, naming the flag (before any connection is tried).
TEST(RecommenderBinaryTest, InvalidFlagsExitTwoNamingTheFlag) {
  for (const std::string flag : {"--cache_ttl=0s", "--candidate_pool=0", "--high_margin_threshold=1.5",
                                 "--model_poll_interval=-1s", "--feedback_stream="}) {
    const std::string name = flag.substr(2, flag.find('=') - 2);
    marketlens::testing::ChildProcess process(
        {"services/recommender/recommender", flag, "--pg_dsn=host=/nonexistent"},
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/bad-", name, ".log"));
    EXPECT_EQ(process.Kill(0, absl::Seconds(20)), 2) << flag << ": " << process.Log();
    EXPECT_NE(process.Log().find(name), std::string::npos) << process.Log();
  }
}

}  // namespace
}  // namespace marketlens::recommender
