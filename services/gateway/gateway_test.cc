// HTTP through the whole gateway (GatewayStack, as main.cc builds it) against real gRPC backends: the fake
// analyzer/recommender/collector of fake_backends.h on real gRPC servers, a real PostgreSQL with the real
// migrations (API keys), a real Redis (the response cache). Every route, every error mapping, auth, rate
// limits, bad requests, slow clients, CORS, health, metrics, the OpenAPI document and the cache.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/testing/free_port.h"
#include "common/testing/migrated_database.h"
#include "common/testing/protobuf_status_matchers.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "marketlens/privacy/v1/privacy.pb.h"
#include "services/gateway/fake_backends.h"
#include "services/gateway/gateway_stack.h"
#include "services/gateway/response_cache.h"
#include "services/gateway/test_http_client.h"

namespace marketlens::gateway {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HttpCall;
using ::testing::Not;
using testing::TestConnection;
using testing::TestResponse;

using Headers = std::vector<std::pair<std::string, std::string>>;
using ::marketlens::testing::IsOk;

// Parses JSON into a proto (the response's own message: checks the JSON mapping both ways).
template <typename M>
M Parse(const std::string& json) {
  M m;
  google::protobuf::util::JsonParseOptions o;
  auto st = google::protobuf::util::JsonStringToMessage(json, &m, o);
  EXPECT_THAT(st, IsOk()) << " in " << json;
  return m;
}

// {"error":{...}} -> ErrorBody
struct Err {
  std::string code, message, field;
};
Err ParseError(const std::string& json) {
  google::protobuf::Struct s = Parse<google::protobuf::Struct>(json);
  Err e;
  const auto& err = s.fields().at("error").struct_value().fields();
  e.code = err.at("code").string_value();
  e.message = err.at("message").string_value();
  e.field = err.at("field").string_value();
  return e;
}

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = marketlens::testing::CreateMigratedDatabase(marketlens::testing::SharedPostgresServer(),
                                                          {.pool_size = 4});
    ASSERT_THAT(db, IsOk());
    pool_ = db->pool.release();
    logging::SetMinLevel(logging::Level::kInfo);  // the access-log tests read info lines

    auto redis_server = marketlens::testing::RedisServer::Create();
    ASSERT_THAT(redis_server, IsOk());
    redis_server_ = redis_server->release();
    redis::RedisOptions ro;
    ro.host = redis_server_->host();
    ro.port = redis_server_->port();
    ro.down_backoff = absl::Milliseconds(200);
    redis_ = new redis::RedisClient(ro);

    backends_ = testing::FakeBackends::Start().release();
    auto stack = GatewayStack::Start(DefaultOptions(), pool_, redis_);
    ASSERT_THAT(stack, IsOk());
    stack_ = stack->release();
    port_ = stack_->http_port();

    auto make = [](const char* name, std::vector<Scope> scopes, int rate) {
      auto k = stack_->api_keys()->Create(name, scopes, rate);
      EXPECT_THAT(k, IsOk());
      return k.ok() ? k->secret : std::string();
    };
    read_key_ = new std::string(make("reader", {Scope::kRead}, 0));
    write_key_ = new std::string(make("writer", {Scope::kWrite}, 0));
    admin_key_ = new std::string(make("admin", {Scope::kAdmin}, 0));
  }

  static void TearDownTestSuite() {
    delete stack_;
    delete backends_;
    delete redis_;
    delete redis_server_;
    delete pool_;
    delete read_key_;
    delete write_key_;
    delete admin_key_;
  }

  static GatewayStackOptions DefaultOptions() {
    GatewayStackOptions o;
    o.http.host = "127.0.0.1";
    o.http.port = 0;
    o.http.max_body_bytes = 64 * 1024;
    o.http.request_timeout = absl::Milliseconds(800);
    o.transcoder.default_timeout = absl::Seconds(5);
    o.gateway.rate_limit_per_second = 1000;
    o.gateway.cors.allowed_origins = {"http://dash.example"};
    for (const auto& m : GatewayStack::DefaultAdminMethods()) o.gateway.admin_methods.insert(m);
    for (const auto& m : GatewayStack::DefaultCachedMethods()) o.gateway.cached_methods.insert(m);
    o.backends = {{"marketlens.analyzer.v1.AnalyzerService", backends_->analyzer_address()},
                  {"marketlens.recommender.v1.RecommenderService", backends_->recommender_address()},
                  {"marketlens.collector.v1.CollectorService", backends_->collector_address()}};
    o.readiness_interval = absl::Milliseconds(200);
    o.registry = std::make_shared<prometheus::Registry>();
    return o;
  }

  static TestResponse Call(absl::string_view method, absl::string_view target, const std::string& key,
                           absl::string_view body = "", Headers headers = {}, int port = 0) {
    if (!key.empty()) headers.emplace_back("Authorization", absl::StrCat("Bearer ", key));
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    auto r = HttpCall(port == 0 ? port_ : port, method, target, headers, body);
    EXPECT_THAT(r, IsOk()) << method << " " << target << ": " << r.status();
    return r.ok() ? *r : TestResponse();
  }
  static TestResponse Get(absl::string_view target, const std::string& key = *read_key_,
                          Headers headers = {}) {
    return Call("GET", target, key, "", std::move(headers));
  }
  static TestResponse Post(absl::string_view target, absl::string_view body,
                           const std::string& key = *write_key_, Headers headers = {}) {
    return Call("POST", target, key, body, std::move(headers));
  }

  static postgres::PgPool* pool_;
  static marketlens::testing::RedisServer* redis_server_;
  static redis::RedisClient* redis_;
  static testing::FakeBackends* backends_;
  static GatewayStack* stack_;
  static int port_;
  static std::string* read_key_;
  static std::string* write_key_;
  static std::string* admin_key_;
};

postgres::PgPool* GatewayTest::pool_ = nullptr;
marketlens::testing::RedisServer* GatewayTest::redis_server_ = nullptr;
redis::RedisClient* GatewayTest::redis_ = nullptr;
testing::FakeBackends* GatewayTest::backends_ = nullptr;
GatewayStack* GatewayTest::stack_ = nullptr;
int GatewayTest::port_ = 0;
std::string* GatewayTest::read_key_ = nullptr;
std::string* GatewayTest::write_key_ = nullptr;
std::string* GatewayTest::admin_key_ = nullptr;

// ---- Routing and transcoding -------------------------------------------------------------------------

TEST_F(GatewayTest, EveryRouteReachesItsRpc) {
  struct Case {
    std::string method, target, body, key, expect;
  };
  const std::string& r = *read_key_;
  const std::string& w = *write_key_;
  const std::string& a = *admin_key_;
  const std::vector<Case> cases = {
      {"GET", "/api/v1/products", "", r, "\"totalSize\":\"10\""},
      {"GET", "/api/v1/products/p3", "", r, "\"productId\":\"p3\""},
      {"GET", "/api/v1/products/p3/reviews", "", r, "\"reviewId\":\"p3-r0\""},
      {"GET", "/api/v1/alerts?product_id=p7", "", r, "\"productId\":\"p7\""},
      {"GET", "/api/v1/alerts?product_id=p7", "", r,
       "\"sinceEarliest\":\"2023-09-18T01:20:00Z\",\"sinceLatest\":\"2023-11-09T03:20:00Z\""},
      {"POST", "/api/v1/analyze", R"({"text":"it broke"})", w, "\"label\":\"negative\""},
      {"GET", "/api/v1/generate-content/c1", "", r, "\"customerId\":\"c1\""},
      {"GET", "/api/v1/summarized_interactions/c2", "", r, "\"mostFrequentChannel\":\"email\""},
      {"GET", "/api/v1/top-performers?campaignId=spring&limit=2", "", r, "\"influencer\":\"spring-inf1\""},
      {"GET", "/api/v1/interactions-by-product?customer_type=vip", "", r, "\"productId\":\"vip\""},
      {"GET", "/api/v1/recommendations?user_id=u1&n=2&surface=cart", "", r, "popular on cart"},
      {"POST", "/api/v1/recommendations", R"({"userId":"u1","n":1,"sessionItems":["p9"]})", w,
       "because you viewed p9"},
      {"GET", "/api/v1/similar-items?item_id=p1&n=1", "", r, "\"itemId\":\"p1-sim0\""},
      {"GET", "/api/v1/frequently-bought-together?item_ids=p1,p2", "", r, "\"itemId\":\"p2-fbt\""},
      {"POST", "/api/v1/rerank", R"({"userId":"u1","itemIds":["a","b"]})", w, "\"itemId\":\"b\""},
      {"POST", "/api/v1/feedback", R"({"userId":"u-route","itemId":"p1","event":"FEEDBACK_EVENT_CLICK"})", w,
       "{}"},
      {"GET", "/api/v1/models", "", r, "\"version\":\"als-2\""},
      {"GET", "/api/v1/experiments/e1/results", "", r, "\"experimentId\":\"e1\""},
      {"POST", "/api/v1/crawls", R"({"mode":"CRAWL_MODE_FULL","resources":["reviews"]})", a,
       "\"mode\":\"CRAWL_MODE_FULL\""},
      {"GET", "/api/v1/crawls", "", r, "\"crawls\":["},
  };
  for (const Case& c : cases) {
    TestResponse resp = Call(c.method, c.target, c.key, c.body);
    EXPECT_EQ(resp.status, 200) << c.method << " " << c.target << ": " << resp.body;
    EXPECT_THAT(resp.body, HasSubstr(c.expect)) << c.method << " " << c.target;
    EXPECT_EQ(resp.Header("content-type"), "application/json") << c.target;
  }
}

// DELETE /api/v1/users/{id} starts an erasure job (202); the driver calls every backend's EraseUser and the
// job completes with the kinds erased, who asked and no user id; export merges every backend's ExportUser.
TEST_F(GatewayTest, ErasureJobAndExport) {
  ASSERT_EQ(
      Post("/api/v1/feedback", R"({"userId":"u-erase","itemId":"p1","event":"FEEDBACK_EVENT_CLICK"})").status,
      200);
  // Admin scope only.
  EXPECT_EQ(Call("DELETE", "/api/v1/users/u-erase", *write_key_).status, 403);
  EXPECT_EQ(Get("/api/v1/users/u-erase/export").status, 403);

  TestResponse exported = Get("/api/v1/users/u-erase/export", *admin_key_);
  ASSERT_EQ(exported.status, 200) << exported.body;
  const auto bundle = Parse<privacy::v1::UserExport>(exported.body);
  EXPECT_EQ(bundle.user_id(), "u-erase");
  ASSERT_EQ(bundle.services_size(), 3) << exported.body;
  EXPECT_EQ(bundle.services(0).service(), "collector");
  EXPECT_THAT(exported.body, HasSubstr(R"("user_id":"u-erase")"));

  TestResponse started = Call("DELETE", "/api/v1/users/u-erase", *admin_key_);
  ASSERT_EQ(started.status, 202) << started.body;
  const auto job = Parse<privacy::v1::Erasure>(started.body);
  ASSERT_FALSE(job.id().empty());
  // The same person again while the job runs: the same job (or, if it finished already, a new one).
  privacy::v1::Erasure done;
  for (int i = 0; i < 100; ++i) {
    TestResponse got = Get(absl::StrCat("/api/v1/erasures/", job.id()), *admin_key_);
    ASSERT_EQ(got.status, 200) << got.body;
    done = Parse<privacy::v1::Erasure>(got.body);
    if (done.state() == "completed") break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(done.state(), "completed");
  EXPECT_THAT(done.steps_done(), ::testing::ElementsAre("collector", "analyzer", "recommender"));
  EXPECT_TRUE(done.has_completed_at());
  EXPECT_FALSE(done.requested_by().empty());
  std::map<std::string, int64_t> kinds;
  for (const auto& e : done.erased()) kinds[e.kind()] = e.count();
  EXPECT_EQ(kinds["recommender/recsys.events"], 1);
  EXPECT_EQ(kinds["collector/raw.customers"], 1);
  // The audit record keeps no user id; the tombstone holds only its hash.
  auto row = pool_->Exec(
      "SELECT count(*) FROM privacy.erasures WHERE id = $1::uuid AND subject_id IS NULL AND state = "
      "'completed'",
      job.id());
  ASSERT_THAT(row, IsOk());
  EXPECT_EQ((*row)[0][0].as<int>(), 1);
  auto tomb = pool_->Exec("SELECT privacy.is_erased('u-erase'), privacy.is_erased('u-other')");
  ASSERT_THAT(tomb, IsOk());
  EXPECT_TRUE((*tomb)[0][0].as<bool>());
  EXPECT_FALSE((*tomb)[0][1].as<bool>());

  TestResponse unknown = Get("/api/v1/erasures/00000000-0000-0000-0000-000000000000", *admin_key_);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(Get("/api/v1/erasures/not-a-uuid", *admin_key_).status, 404);
  // The OpenAPI document says 202 for the erasure request.
  TestResponse openapi = Get("/openapi.json");
  EXPECT_THAT(openapi.body, HasSubstr("/api/v1/erasures/{id}"));
  EXPECT_THAT(openapi.body, HasSubstr("\"202\""));
}

// The driver on its own database (the suite's gateway runs a driver on the shared one): a service down makes
// its step fail and later steps wait; a new driver (a restarted gateway) finishes the job; a job claimed by a
// driver that died is taken over once its lease ends; a repeated request while pending is the same job.
TEST_F(GatewayTest, ErasureDriverResumesAfterAServiceFailureAndAGatewayRestart) {
  auto db = marketlens::testing::CreateMigratedDatabase(marketlens::testing::SharedPostgresServer(),
                                                        {.pool_size = 2});
  ASSERT_THAT(db, IsOk());
  logging::SetMinLevel(logging::Level::kInfo);
  postgres::PgPool* pool = db->pool.get();
  ErasureStore store(pool);
  std::atomic<bool> analyzer_up{false};
  std::atomic<int> recommender_calls{0};
  auto ok = [](const std::string& kind) -> ErasureStep {
    return [kind](const std::string& user, const std::string&, absl::Time) {
      privacy::v1::EraseUserResponse r;
      privacy::v1::ErasedData* e = r.add_erased();
      e->set_kind(kind);
      e->set_count(static_cast<int64_t>(user.size()));
      return absl::StatusOr<privacy::v1::EraseUserResponse>(r);
    };
  };
  std::map<std::string, ErasureStep> steps = {
      {"collector", ok("raw.customers")},
      {"analyzer",
       [&](const std::string& user, const std::string& id,
           absl::Time deadline) -> absl::StatusOr<privacy::v1::EraseUserResponse> {
         if (!analyzer_up) return absl::UnavailableError("connection refused");
         return ok("retrieval_index")(user, id, deadline);
       }},
      {"recommender", [&](const std::string& user, const std::string& id, absl::Time deadline) {
         ++recommender_calls;
         return ok("recsys.events")(user, id, deadline);
       }}};
  auto metrics = std::make_shared<prometheus::Registry>();
  const ErasureDriverOptions fast = {.poll_interval = absl::Milliseconds(20),
                                     .step_timeout = absl::Seconds(1),
                                     .lease = absl::Milliseconds(300),
                                     .initial_backoff = absl::Milliseconds(10),
                                     .max_backoff = absl::Milliseconds(40),
                                     .registry = metrics};

  auto job = store.Create("person-1", "key-1");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(store.Create("person-1", "key-2")->id(), job->id());  // pending: the same job
  {
    ErasureDriver first(&store, steps, fast);
    EXPECT_EQ(first.RunOnce(), 1);  // collector done; the analyzer is down
  }                                 // this gateway goes away
  auto pending = store.Get(job->id());
  ASSERT_THAT(pending, IsOk());
  EXPECT_EQ(pending->state(), "pending");
  EXPECT_THAT(pending->steps_done(), ::testing::ElementsAre("collector"));
  EXPECT_THAT(pending->steps_pending(), ::testing::ElementsAre("analyzer", "recommender"));
  EXPECT_EQ(pending->attempts(), 1);
  EXPECT_THAT(pending->last_error(), HasSubstr("analyzer: UNAVAILABLE"));
  EXPECT_EQ(recommender_calls.load(), 0);  // later steps wait for the analyzer
  std::map<std::string, double> counted;
  for (const auto& family : metrics->Collect()) {
    if (family.name != "gateway_erasure_steps_total") continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      counted[labels["step"] + "/" + labels["result"]] = m.counter.value;
    }
  }
  EXPECT_EQ(counted["collector/done"], 1);
  EXPECT_EQ(counted["analyzer/failed"], 1);

  analyzer_up = true;
  ErasureDriver restarted(&store, steps, fast);
  restarted.Start();
  privacy::v1::Erasure done;
  for (int i = 0; i < 200 && done.state() != "completed"; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    done = *store.Get(job->id());
  }
  ASSERT_EQ(done.state(), "completed");
  EXPECT_EQ(done.requested_by(), "key-1");
  EXPECT_EQ(recommender_calls.load(), 1);
  std::map<std::string, int64_t> kinds;
  for (const auto& e : done.erased()) kinds[e.kind()] = e.count();
  EXPECT_EQ(kinds, (std::map<std::string, int64_t>{{"analyzer/retrieval_index", 8},
                                                   {"collector/raw.customers", 8},
                                                   {"recommender/recsys.events", 8}}));
  restarted.Stop();

  // A driver claims a job and dies before recording anything: the job waits for the lease, then completes.
  auto orphan = store.Create("person-2", "key-1");
  ASSERT_THAT(orphan, IsOk());
  auto claimed = store.ClaimDue(absl::Milliseconds(300));
  ASSERT_THAT(claimed, IsOk());
  ASSERT_EQ(claimed->size(), 1u);
  ErasureDriver taker(&store, steps, fast);
  EXPECT_EQ(taker.RunOnce(), 0);  // still leased
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(taker.RunOnce(), 3);
  EXPECT_EQ(store.Get(orphan->id())->state(), "completed");
  // Nothing keeps the ids once completed.
  auto ids = pool->Exec("SELECT count(*) FROM privacy.erasures WHERE subject_id IS NOT NULL");
  ASSERT_THAT(ids, IsOk());
  EXPECT_EQ((*ids)[0][0].as<int>(), 0);
}

TEST_F(GatewayTest, CustomVerbsAndPathVariables) {
  TestResponse crawl = Post("/api/v1/crawls", R"({"mode":"CRAWL_MODE_INCREMENTAL"})", *admin_key_);
  ASSERT_EQ(crawl.status, 200) << crawl.body;
  const std::string id = Parse<collector::v1::Crawl>(crawl.body).id();
  TestResponse got = Get(absl::StrCat("/api/v1/crawls/", id));
  EXPECT_EQ(got.status, 200);
  EXPECT_THAT(got.body, HasSubstr("\"state\":\"CRAWL_STATE_RUNNING\""));
  TestResponse cancel = Post(absl::StrCat("/api/v1/crawls/", id, ":cancel"), "", *admin_key_);
  EXPECT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_THAT(cancel.body, HasSubstr("CRAWL_STATE_CANCELLED"));
  // Cancelling again: FAILED_PRECONDITION -> 400.
  TestResponse again = Post(absl::StrCat("/api/v1/crawls/", id, ":cancel"), "", *admin_key_);
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(ParseError(again.body).code, "FAILED_PRECONDITION");

  TestResponse promote = Post("/api/v1/models/als-2:promote", "", *admin_key_);
  EXPECT_EQ(promote.status, 200) << promote.body;
  EXPECT_THAT(promote.body, AllOf(HasSubstr("\"version\":\"als-2\""), HasSubstr("\"promoted\":true")));
  TestResponse rollback = Post("/api/v1/models:rollback", "", *admin_key_);
  EXPECT_EQ(rollback.status, 200) << rollback.body;
  EXPECT_THAT(rollback.body, HasSubstr("\"version\":\"als-1\""));
  TestResponse missing = Post("/api/v1/models/nope:promote", "", *admin_key_);
  EXPECT_EQ(missing.status, 404);
  Err e = ParseError(missing.body);
  EXPECT_EQ(e.code, "NOT_FOUND");
  EXPECT_EQ(e.field, "version") << "the message starts with the request field";
}

TEST_F(GatewayTest, JsonMappingOfResponses) {
  TestResponse r = Get("/api/v1/products/p2");
  ASSERT_EQ(r.status, 200);
  // lowerCamelCase names, int64 as strings, Timestamps as RFC 3339, defaults printed.
  EXPECT_THAT(r.body, HasSubstr("\"averageRating\":1.8"));
  EXPECT_THAT(r.body, HasSubstr("\"priceCents\":\"2199\""));
  EXPECT_THAT(r.body, HasSubstr("\"weekStart\":\"2023-11-14T22:13:20Z\""));
  EXPECT_THAT(r.body, HasSubstr("\"velocityTrend\":0"));
  analyzer::v1::ProductInsights p = Parse<analyzer::v1::ProductInsights>(r.body);
  EXPECT_EQ(p.weekly_size(), 3);
  EXPECT_EQ(p.issues(0).quotes(0), "it broke after a week");
  // Maps.
  TestResponse models = Get("/api/v1/models");
  EXPECT_THAT(models.body, HasSubstr("\"params\":{\"factors\":\"32\"}"));
  EXPECT_THAT(models.body, HasSubstr("\"ndcg@10\":0.31"));
}

TEST_F(GatewayTest, QueryBindingByProtoAndJsonNames) {
  auto a =
      Parse<analyzer::v1::TopPerformersResponse>(Get("/api/v1/top-performers?campaignId=c9&limit=1").body);
  auto b =
      Parse<analyzer::v1::TopPerformersResponse>(Get("/api/v1/top-performers?campaign_id=c9&limit=1").body);
  ASSERT_EQ(a.performers_size(), 1);
  EXPECT_EQ(a.performers(0).influencer(), "c9-inf0");
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());

  auto fbt = Parse<recommender::v1::ItemsResponse>(
      Get("/api/v1/frequently-bought-together?item_ids=a&itemIds=b,c").body);
  ASSERT_EQ(fbt.items_size(), 3);
  EXPECT_EQ(fbt.items(2).item_id(), "c-fbt");

  auto list = Parse<analyzer::v1::ListProductInsightsResponse>(
      Get("/api/v1/products?category=kitchen&min_rating=2&sort=-rating&page_size=2").body);
  EXPECT_EQ(list.total_size(),
            3);  // kitchen items p2 p4 p6 p8 with rating >= 2: p4 p6 p8 (2.6 3.4 4.2), p2 is 1.8
  ASSERT_EQ(list.products_size(), 2);
  EXPECT_EQ(list.products(0).product_id(), "p8");
  EXPECT_EQ(list.next_page_token(), "2");
  auto page2 = Parse<analyzer::v1::ListProductInsightsResponse>(
      Get("/api/v1/products?category=kitchen&min_rating=2&sort=-rating&page_size=2&page_token=2").body);
  ASSERT_EQ(page2.products_size(), 1);
  EXPECT_EQ(page2.products(0).product_id(), "p4");

  auto nested = Parse<recommender::v1::RecommendResponse>(
      Get("/api/v1/recommendations?user_id=u2&n=1&context.device=mobile").body);
  ASSERT_EQ(nested.items_size(), 1);
  EXPECT_EQ(nested.items(0).reason(), "popular on home for mobile");
}

// ---- Errors ---------------------------------------------------------------------------------------------

TEST_F(GatewayTest, EveryGrpcCodeMapsToItsHttpStatus) {
  const std::map<std::string, int> expected = {
      {"CANCELLED", 499},           {"UNKNOWN", 500},         {"INVALID_ARGUMENT", 400},
      {"DEADLINE_EXCEEDED", 504},   {"NOT_FOUND", 404},       {"ALREADY_EXISTS", 409},
      {"PERMISSION_DENIED", 403},   {"UNAUTHENTICATED", 401}, {"RESOURCE_EXHAUSTED", 429},
      {"FAILED_PRECONDITION", 400}, {"ABORTED", 409},         {"OUT_OF_RANGE", 400},
      {"UNIMPLEMENTED", 501},       {"INTERNAL", 500},        {"UNAVAILABLE", 503},
      {"DATA_LOSS", 500},
  };
  for (const auto& [code, status] : expected) {
    TestResponse r = Post("/api/v1/analyze", absl::StrCat(R"({"text":"status:)", code, R"("})"));
    EXPECT_EQ(r.status, status) << code;
    Err e = ParseError(r.body);
    EXPECT_EQ(e.code, code);
    EXPECT_EQ(e.message, absl::StrCat("text status:", code));
    EXPECT_EQ(e.field, code == "CANCELLED" || code == "UNKNOWN" || code == "DEADLINE_EXCEEDED" ||
                               code == "PERMISSION_DENIED" || code == "UNAUTHENTICATED" ||
                               code == "RESOURCE_EXHAUSTED" || code == "ABORTED" || code == "UNIMPLEMENTED" ||
                               code == "INTERNAL" || code == "UNAVAILABLE" || code == "DATA_LOSS"
                           ? ""
                           : "text")
        << code;
  }
}

TEST_F(GatewayTest, BackendErrorDetails) {
  // The field from the backend's x-error-field trailer.
  TestResponse r = Post("/api/v1/analyze", R"({"text":"field:INVALID_ARGUMENT:category"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ParseError(r.body).field, "category");
  // The field from the message (the docs/api.md example).
  r = Get("/api/v1/products?page_size=500");
  EXPECT_EQ(r.status, 400);
  Err e = ParseError(r.body);
  EXPECT_EQ(e.code, "INVALID_ARGUMENT");
  EXPECT_EQ(e.message, "page_size must be 1..100");
  EXPECT_EQ(e.field, "page_size");
  EXPECT_EQ(
      r.body,
      R"({"error":{"code":"INVALID_ARGUMENT","message":"page_size must be 1..100","field":"page_size"}})");
  // RESOURCE_EXHAUSTED with retry-after-ms -> 429 with Retry-After in whole seconds.
  r = Post("/api/v1/analyze", R"({"text":"retry:1500"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "2");
  // An RPC the backend does not implement (yet).
  r = Post("/api/v1/briefs", R"({"brand":"Acme"})");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(ParseError(r.body).code, "UNIMPLEMENTED");
}

TEST_F(GatewayTest, BadRequestsNameTheField) {
  struct Case {
    std::string method, target, body;
    int status;
    std::string code, field, message;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/v1/recommendations", R"({"userId":"u1",)", 400, "INVALID_ARGUMENT", "",
       "malformed JSON"},
      {"POST", "/api/v1/recommendations", R"({"n":"many"})", 400, "INVALID_ARGUMENT", "n", "expected int32"},
      {"POST", "/api/v1/recommendations", R"({"context":{"device":7}})", 400, "INVALID_ARGUMENT",
       "context.device", "expected string"},
      {"POST", "/api/v1/recommendations", R"({"usr":"u1"})", 400, "INVALID_ARGUMENT", "usr", "unknown field"},
      {"POST", "/api/v1/recommendations", "[1]", 400, "INVALID_ARGUMENT", "", "JSON object"},
      {"POST", "/api/v1/feedback", R"({"userId":"u","event":"LOVE"})", 400, "INVALID_ARGUMENT", "event", ""},
      {"GET", "/api/v1/products?page_size=ten", "", 400, "INVALID_ARGUMENT", "page_size",
       "not a valid int32"},
      {"GET", "/api/v1/products?min_rating=high", "", 400, "INVALID_ARGUMENT", "min_rating", "not a number"},
      {"GET", "/api/v1/products?colour=red", "", 400, "INVALID_ARGUMENT", "colour",
       "unknown query parameter"},
      {"GET", "/api/v1/products?q=a&q=b", "", 400, "INVALID_ARGUMENT", "q", "more than once"},
      {"GET", "/api/v1/recommendations?context.time=noon", "", 400, "INVALID_ARGUMENT", "context.time",
       "Timestamp"},
      {"POST", "/api/v1/recommendations?n=3", R"({"userId":"u"})", 400, "INVALID_ARGUMENT", "n", "JSON body"},
      {"GET", "/api/v1/nothing-here", "", 404, "NOT_FOUND", "", "no route for GET /api/v1/nothing-here"},
      {"DELETE", "/api/v1/products", "", 405, "UNIMPLEMENTED", "", "allowed: GET"},
      {"GET", "/api/v1/models:rollback", "", 405, "UNIMPLEMENTED", "", "allowed: POST"},
  };
  for (const Case& c : cases) {
    const std::string& key = c.method == "GET" ? *read_key_ : *write_key_;
    TestResponse r = Call(c.method, c.target, key, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << c.body << ": " << r.body;
    Err e = ParseError(r.body);
    EXPECT_EQ(e.code, c.code) << c.target << " " << c.body;
    EXPECT_EQ(e.field, c.field) << c.target << " " << c.body << ": " << e.message;
    EXPECT_THAT(e.message, HasSubstr(c.message)) << c.target << " " << c.body;
  }
  TestResponse r = Call("PUT", "/api/v1/recommendations", *write_key_);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "GET, POST");
}

TEST_F(GatewayTest, UnsupportedContentTypeIs415) {
  auto r = HttpCall(port_, "POST", "/api/v1/analyze",
                    {{"Authorization", "Bearer " + *write_key_}, {"Content-Type", "text/plain"}}, "hello");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 415);
  EXPECT_EQ(ParseError(r->body).code, "INVALID_ARGUMENT");
  // application/json with a charset, and +json types, are fine.
  r = HttpCall(
      port_, "POST", "/api/v1/analyze",
      {{"Authorization", "Bearer " + *write_key_}, {"Content-Type", "application/json; charset=utf-8"}},
      R"({"text":"fine"})");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
}

TEST_F(GatewayTest, OversizedBodyIs413) {
  const std::string big = absl::StrCat(R"({"text":")", std::string(70 * 1024, 'x'), R"("})");
  TestResponse r = Post("/api/v1/analyze", big);
  EXPECT_EQ(r.status, 413);
  Err e = ParseError(r.body);
  EXPECT_EQ(e.code, "RESOURCE_EXHAUSTED");
  EXPECT_THAT(e.message, HasSubstr("exceeds 65536 bytes"));
  // Just under the limit is fine.
  const std::string ok = absl::StrCat(R"({"text":")", std::string(60 * 1024, 'x'), R"("})");
  EXPECT_EQ(Post("/api/v1/analyze", ok).status, 200);
}

TEST_F(GatewayTest, SlowClientsAreCutOffAndOthersServed) {
  auto slow = TestConnection::Connect(port_);
  ASSERT_THAT(slow, IsOk());
  ASSERT_THAT(slow->Send("POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"te"),
              IsOk());
  // While it dawdles, others are served.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get("/api/v1/alerts").status, 200);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(slow->WaitClosed(absl::Seconds(3)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(Get("/api/v1/alerts").status, 200);
}

// ---- Deadlines and request ids ---------------------------------------------------------------------------

TEST_F(GatewayTest, DeadlinesReachTheBackend) {
  TestResponse r = Post("/api/v1/analyze", R"({"text":"echo"})", *write_key_, {{"Grpc-Timeout", "2S"}});
  ASSERT_EQ(r.status, 200);
  const double left = Parse<analyzer::v1::TextAnalysis>(r.body).sentiment();
  EXPECT_GT(left, 1.0);
  EXPECT_LE(left, 2.05);  // gRPC rounds the timeout it sends up
  // Without a header: the default (5 s in this test).
  r = Post("/api/v1/analyze", R"({"text":"echo"})");
  const double def = Parse<analyzer::v1::TextAnalysis>(r.body).sentiment();
  EXPECT_GT(def, 4.0);
  EXPECT_LE(def, 5.05);
  // A backend slower than the deadline: 504, in about the deadline.
  const absl::Time start = absl::Now();
  r = Post("/api/v1/analyze", R"({"text":"sleep:2000"})", *write_key_, {{"Grpc-Timeout", "200m"}});
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(ParseError(r.body).code, "DEADLINE_EXCEEDED");
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // A malformed header.
  r = Post("/api/v1/analyze", R"({"text":"echo"})", *write_key_, {{"Grpc-Timeout", "soon"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ParseError(r.body).field, "Grpc-Timeout");
}

// Waits up to `timeout` for `done()`.
template <typename Fn>
bool WaitFor(Fn done, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > until) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST_F(GatewayTest, ClientGoingAwayCancelsTheBackendCall) {
  // A "sleep:" call of an earlier test may still be ending at the backend; `sleeping` must count this one.
  ASSERT_TRUE(WaitFor([] { return backends_->analyzer.sleeping.load() == 0; }, absl::Seconds(5)));
  struct Captured {
    absl::Mutex mu;
    std::vector<std::string> lines;
  };
  auto captured = std::make_shared<Captured>();
  logging::SetSinkForTesting([captured](absl::string_view line) {
    absl::MutexLock lock(&captured->mu);
    captured->lines.emplace_back(line);
  });
  const int cancelled_before = backends_->analyzer.cancelled.load();
  const absl::Time start = absl::Now();
  {
    auto c = TestConnection::Connect(port_);
    ASSERT_THAT(c, IsOk());
    ASSERT_THAT(c->SendRequest("POST", "/api/v1/analyze",
                               {{"Authorization", absl::StrCat("Bearer ", *write_key_)},
                                {"Content-Type", "application/json"},
                                {"X-Request-Id", "gone-client"}},
                               R"({"text":"sleep:4000"})"),
                IsOk());
    ASSERT_TRUE(WaitFor([] { return backends_->analyzer.sleeping.load() > 0; }, absl::Seconds(5)));
  }  // the client closes its socket while the backend works
  // The backend sees its call cancelled long before it would have answered.
  EXPECT_TRUE(
      WaitFor([&] { return backends_->analyzer.cancelled.load() > cancelled_before; }, absl::Seconds(3)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // Counted as 499 and access-logged as such.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto m = HttpCall(port_, "GET", "/metrics");
        return m.ok() &&
               absl::StrContains(
                   m->body, R"(http_requests_total{code="499",method="POST",route="POST /api/v1/analyze"})");
      },
      absl::Seconds(3)));
  logging::SetSinkForTesting(nullptr);
  absl::MutexLock lock(&captured->mu);
  std::string found;
  for (const auto& l : captured->lines) {
    if (absl::StrContains(l, "\"msg\":\"http request\"") && absl::StrContains(l, "gone-client")) found = l;
  }
  ASSERT_FALSE(found.empty());
  EXPECT_THAT(found, HasSubstr(R"("status":499)"));
  EXPECT_THAT(found, HasSubstr(R"("client_closed":true)"));
  // Others are served as usual.
  EXPECT_EQ(Get("/api/v1/alerts").status, 200);
}

TEST_F(GatewayTest, RequestIdsAreEchoedAndPropagated) {
  TestResponse r =
      Post("/api/v1/analyze", R"({"text":"echo"})", *write_key_, {{"X-Request-Id", "req-abc.123"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("x-request-id"), "req-abc.123");
  EXPECT_EQ(Parse<analyzer::v1::TextAnalysis>(r.body).label(), "req-abc.123");
  // Without one (or with a bad one), the gateway makes one, sends it on and returns it.
  r = Post("/api/v1/analyze", R"({"text":"echo"})", *write_key_, {{"X-Request-Id", "bad id with spaces"}});
  const std::string id = r.Header("x-request-id");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(Parse<analyzer::v1::TextAnalysis>(r.body).label(), id);
  // Errors carry it too.
  r = Get("/api/v1/nothing", *read_key_, {{"X-Request-Id", "err-1"}});
  EXPECT_EQ(r.Header("x-request-id"), "err-1");
}

// ---- Auth and limits -------------------------------------------------------------------------------------

TEST_F(GatewayTest, ApiKeysAndScopes) {
  // Missing.
  TestResponse r = Get("/api/v1/products", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ParseError(r.body).code, "UNAUTHENTICATED");
  EXPECT_THAT(r.Header("www-authenticate"), HasSubstr("Bearer"));
  // Malformed, unknown (well-formed), and in a wrong scheme.
  r = Get("/api/v1/products", "not-a-key");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(ParseError(r.body).message, HasSubstr("malformed"));
  r = Get("/api/v1/products", absl::StrCat("mlk_000000000000_", std::string(40, 'a')));
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(ParseError(r.body).message, HasSubstr("unknown"));
  auto basic = HttpCall(port_, "GET", "/api/v1/products", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  ASSERT_THAT(basic, IsOk());
  EXPECT_EQ(basic->status, 401);
  // X-Api-Key works as well as Bearer.
  auto header = HttpCall(port_, "GET", "/api/v1/products", {{"X-Api-Key", *read_key_}});
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(header->status, 200);
  // Insufficient scope: read cannot write, write cannot do admin things; admin can do all.
  r = Post("/api/v1/feedback", R"({"userId":"u","itemId":"p1","event":"FEEDBACK_EVENT_LIKE"})", *read_key_);
  EXPECT_EQ(r.status, 403);
  Err e = ParseError(r.body);
  EXPECT_EQ(e.code, "PERMISSION_DENIED");
  EXPECT_THAT(e.message, HasSubstr("needs write"));
  r = Post("/api/v1/models/als-1:promote", "", *write_key_);
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(ParseError(r.body).message, HasSubstr("needs admin"));
  EXPECT_EQ(Get("/api/v1/products", *write_key_).status, 200) << "write implies read";
  EXPECT_EQ(Get("/api/v1/products", *admin_key_).status, 200);
  EXPECT_EQ(Post("/api/v1/models/als-1:promote", "", *admin_key_).status, 200);
}

TEST_F(GatewayTest, RevokedKeysStopWorking) {
  auto k = stack_->api_keys()->Create("temp", {Scope::kRead}, 0);
  ASSERT_THAT(k, IsOk());
  EXPECT_EQ(Get("/api/v1/alerts", k->secret).status, 200);
  ASSERT_THAT(stack_->api_keys()->Revoke(k->key.id), IsOk());
  TestResponse r = Get("/api/v1/alerts", k->secret);
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(ParseError(r.body).message, HasSubstr("revoked"));
}

TEST_F(GatewayTest, PerKeyRateLimit) {
  auto k = stack_->api_keys()->Create("slow-partner", {Scope::kRead}, 1);  // 1/s, burst 2
  ASSERT_THAT(k, IsOk());
  int ok = 0;
  TestResponse limited;
  for (int i = 0; i < 4; ++i) {
    TestResponse r = Get("/api/v1/alerts", k->secret);
    if (r.status == 200) {
      ++ok;
    } else {
      limited = r;
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(ParseError(limited.body).code, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(limited.Header("retry-after"), "1");
  // Other keys are not affected.
  EXPECT_EQ(Get("/api/v1/alerts").status, 200);
  // After the advertised wait, it works again.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Get("/api/v1/alerts", k->secret).status, 200);
}

TEST_F(GatewayTest, ApiKeysLiveHashedInPostgres) {
  auto k = stack_->api_keys()->Create("audit", {Scope::kRead, Scope::kWrite}, 7);
  ASSERT_THAT(k, IsOk());
  EXPECT_TRUE(absl::StartsWith(k->secret, absl::StrCat("mlk_", k->key.id, "_")));
  auto row = pool_->Exec(
      "SELECT key_sha256, array_to_string(scopes, ','), rate_limit_per_second FROM "
      "gateway.api_keys WHERE id = $1",
      k->key.id);
  ASSERT_THAT(row, IsOk());
  ASSERT_EQ(row->size(), 1u);
  EXPECT_EQ((*row)[0][0].as<std::string>(), ApiKeyStore::HashKey(k->secret));
  EXPECT_EQ((*row)[0][1].as<std::string>(), "read,write");
  EXPECT_EQ((*row)[0][2].as<int>(), 7);
  auto all = pool_->Exec("SELECT count(*) FROM gateway.api_keys WHERE key_sha256 = $1 OR id = $1", k->secret);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ((*all)[0][0].as<int>(), 0) << "the key itself is stored nowhere";
}

// ---- CORS, health, metrics, OpenAPI, dashboard ------------------------------------------------------------

TEST_F(GatewayTest, Cors) {
  auto pre = HttpCall(port_, "OPTIONS", "/api/v1/feedback",
                      {{"Origin", "http://dash.example"},
                       {"Access-Control-Request-Method", "POST"},
                       {"Access-Control-Request-Headers", "authorization,content-type"}});
  ASSERT_THAT(pre, IsOk());
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(pre->Header("access-control-allow-origin"), "http://dash.example");
  EXPECT_THAT(pre->Header("access-control-allow-methods"), HasSubstr("POST"));
  EXPECT_THAT(pre->Header("access-control-allow-headers"), HasSubstr("Authorization"));
  // Another origin: no CORS headers.
  auto other = HttpCall(port_, "OPTIONS", "/api/v1/feedback",
                        {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->Header("access-control-allow-origin"), "");
  // Actual requests from the allowed origin expose the headers a client needs, errors included.
  TestResponse r = Get("/api/v1/products", *read_key_, {{"Origin", "http://dash.example"}});
  EXPECT_EQ(r.Header("access-control-allow-origin"), "http://dash.example");
  EXPECT_THAT(r.Header("access-control-expose-headers"), HasSubstr("X-Request-Id"));
  r = Get("/api/v1/products", "", {{"Origin", "http://dash.example"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Header("access-control-allow-origin"), "http://dash.example");
}

TEST_F(GatewayTest, HealthAndReadiness) {
  auto h = HttpCall(port_, "GET", "/healthz");
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->status, 200);
  auto ready = HttpCall(port_, "GET", "/readyz");
  ASSERT_THAT(ready, IsOk());
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_THAT(ready->body, HasSubstr(R"("marketlens.analyzer.v1.AnalyzerService":"SERVING")"));
  EXPECT_THAT(ready->body, HasSubstr(R"("postgres":"OK")"));
  auto post = HttpCall(port_, "POST", "/healthz");
  ASSERT_THAT(post, IsOk());
  EXPECT_EQ(post->status, 405);
}

TEST_F(GatewayTest, MetricsByRouteAndCode) {
  Get("/api/v1/products/p1");
  Get("/api/v1/products/nope");
  auto m = HttpCall(port_, "GET", "/metrics");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->status, 200);
  EXPECT_THAT(m->Header("content-type"), HasSubstr("text/plain"));
  EXPECT_THAT(
      m->body,
      HasSubstr(R"(http_requests_total{code="200",method="GET",route="GET /api/v1/products/{product_id}"})"));
  EXPECT_THAT(
      m->body,
      HasSubstr(R"(http_requests_total{code="404",method="GET",route="GET /api/v1/products/{product_id}"})"));
  EXPECT_THAT(
      m->body,
      HasSubstr(
          R"(http_request_duration_seconds_bucket{code="200",method="GET",route="GET /api/v1/products/{product_id}")"));
  EXPECT_THAT(m->body, HasSubstr("grpc_client_handled_total"));
  // Unknown paths share one label.
  Get("/api/v1/x/y/z");
  Get("/api/v1/x/y/w");
  m = HttpCall(port_, "GET", "/metrics");
  EXPECT_THAT(m->body, HasSubstr(R"(http_requests_total{code="404",method="GET",route="unmatched"})"));
  EXPECT_THAT(m->body, Not(HasSubstr("/api/v1/x/y")));
}

TEST_F(GatewayTest, OpenApiDocumentDescribesEveryRoute) {
  auto r = HttpCall(port_, "GET", "/openapi.json");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->status, 200);
  google::protobuf::Struct doc = Parse<google::protobuf::Struct>(r->body);
  EXPECT_EQ(doc.fields().at("openapi").string_value(), "3.0.3");
  const auto& paths = doc.fields().at("paths").struct_value().fields();
  int operations = 0;
  for (const Route& route : stack_->routes().routes()) {
    const std::string path = route.path.OpenApiPath();
    ASSERT_TRUE(paths.contains(path)) << path;
    std::string method = route.http_method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(paths.at(path).struct_value().fields().contains(method)) << route.label;
    const auto& op = paths.at(path).struct_value().fields().at(method).struct_value().fields();
    EXPECT_EQ(op.at("x-grpc-method").string_value(), route.grpc_path);
    EXPECT_EQ(op.at("x-required-scope").string_value(), ScopeName(stack_->gateway().RequiredScope(route)));
    ++operations;
  }
  EXPECT_EQ(operations, static_cast<int>(stack_->routes().routes().size()));
  EXPECT_GE(operations, 20);

  auto params_of = [&](const std::string& path, const std::string& method) {
    std::map<std::string, std::string> out;  // name -> in
    for (const auto& p : paths.at(path)
                             .struct_value()
                             .fields()
                             .at(method)
                             .struct_value()
                             .fields()
                             .at("parameters")
                             .list_value()
                             .values()) {
      out[p.struct_value().fields().at("name").string_value()] =
          p.struct_value().fields().at("in").string_value();
    }
    return out;
  };
  auto list = params_of("/api/v1/products", "get");
  for (const char* q : {"category", "sentiment", "min_rating", "q", "sort", "page_size", "page_token"}) {
    EXPECT_EQ(list[q], "query") << q;
  }
  EXPECT_EQ(params_of("/api/v1/products/{product_id}", "get")["product_id"], "path");
  EXPECT_EQ(params_of("/api/v1/recommendations", "get")["context.device"], "query");
  EXPECT_EQ(params_of("/api/v1/models/{version}:promote", "post")["version"], "path");
  const auto& post_recs =
      paths.at("/api/v1/recommendations").struct_value().fields().at("post").struct_value().fields();
  EXPECT_THAT(post_recs.at("requestBody").DebugString(),
              HasSubstr("marketlens.recommender.v1.RecommendRequest"));

  const auto& schemas =
      doc.fields().at("components").struct_value().fields().at("schemas").struct_value().fields();
  ASSERT_TRUE(schemas.contains("marketlens.gateway.v1.ErrorBody"));
  ASSERT_TRUE(schemas.contains("marketlens.analyzer.v1.ListProductInsightsResponse"));
  const auto& total = schemas.at("marketlens.analyzer.v1.ListProductInsightsResponse")
                          .struct_value()
                          .fields()
                          .at("properties")
                          .struct_value()
                          .fields()
                          .at("totalSize")
                          .struct_value()
                          .fields();
  EXPECT_EQ(total.at("type").string_value(), "string");
  EXPECT_EQ(total.at("format").string_value(), "int64");
  // Every $ref points at a defined schema.
  for (absl::string_view rest = r->body;;) {
    const size_t at = rest.find("\"$ref\":\"#/components/schemas/");
    if (at == absl::string_view::npos) break;
    rest.remove_prefix(at + 29);
    const std::string name(rest.substr(0, rest.find('"')));
    EXPECT_TRUE(schemas.contains(name)) << name;
  }
}

TEST_F(GatewayTest, UnknownNonApiPathsAre404) {
  auto r = HttpCall(port_, "GET", "/no-such-file.js");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(ParseError(r->body).code, "NOT_FOUND");
}

// ---- Cache ------------------------------------------------------------------------------------------------

TEST_F(GatewayTest, HotListReadsAreCachedAndInvalidated) {
  const std::string target = "/api/v1/products?category=garden&sort=-rating";
  const int before = backends_->analyzer.list_calls.load();
  TestResponse first = Get(target);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.Header("x-cache"), "MISS");
  TestResponse second = Get(target);
  EXPECT_EQ(second.Header("x-cache"), "HIT");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(backends_->analyzer.list_calls.load(), before + 1);
  // The same request spelled differently shares the entry (keyed on the request message).
  EXPECT_EQ(Get("/api/v1/products?sort=-rating&category=garden&page_size=").Header("x-cache"), "HIT");
  // Another key may read the same cached answer (responses are not per key).
  EXPECT_EQ(Get(target, *admin_key_).Header("x-cache"), "HIT");
  // Cache-Control: no-cache refreshes.
  EXPECT_EQ(Get(target, *read_key_, {{"Cache-Control", "no-cache"}}).Header("x-cache"), "MISS");
  EXPECT_EQ(backends_->analyzer.list_calls.load(), before + 2);
  EXPECT_EQ(Get(target).Header("x-cache"), "HIT");

  // A write to the recommender leaves the analyzer's entries alone...
  ASSERT_EQ(Post("/api/v1/feedback", R"({"userId":"u9","itemId":"p1","event":"FEEDBACK_EVENT_VIEW"})").status,
            200);
  EXPECT_EQ(Get(target).Header("x-cache"), "HIT");
  // ...a write through the gateway to the analyzer invalidates them...
  ASSERT_EQ(Post("/api/v1/analyze", R"({"text":"ok"})").status, 200);
  EXPECT_EQ(Get(target).Header("x-cache"), "MISS");
  EXPECT_EQ(Get(target).Header("x-cache"), "HIT");
  // ...and so does a backend bumping its generation itself.
  ASSERT_THAT(redis_->Incr(ResponseCache::GenerationKey("marketlens.analyzer.v1.AnalyzerService")), IsOk());
  EXPECT_EQ(Get(target).Header("x-cache"), "MISS");
  // Errors are not cached; uncached routes have no X-Cache.
  EXPECT_EQ(Get("/api/v1/products?page_size=500").Header("x-cache"), "");
  EXPECT_EQ(Get("/api/v1/products?page_size=500").status, 400);
  EXPECT_EQ(Get("/api/v1/recommendations?user_id=u1").Header("x-cache"), "");
}

// Acknowledging or resolving an alert through the gateway drops the cached alert lists: the caller sees the
// new state at once, not after the cache TTL.
TEST_F(GatewayTest, AlertActionsInvalidateCachedAlertLists) {
  const std::string target = "/api/v1/alerts?state=open";
  Get(target);
  ASSERT_EQ(Get(target).Header("x-cache"), "HIT");
  const int before = backends_->analyzer.alert_list_calls.load();
  for (const char* action : {"acknowledge", "resolve"}) {
    TestResponse r = Post(absl::StrCat("/api/v1/alerts/0b6f3a52-8f53-4c1e-9a57-3d1c2f4e5a6b/", action), "{}");
    ASSERT_EQ(r.status, 200) << action << ": " << r.body;
    EXPECT_EQ(Get(target).Header("x-cache"), "MISS") << action;
    EXPECT_EQ(Get(target).Header("x-cache"), "HIT") << action;
  }
  EXPECT_EQ(backends_->analyzer.alert_list_calls.load(), before + 2);
}

TEST_F(GatewayTest, FeedbackChangesRecommendationsLive) {
  auto before =
      Parse<recommender::v1::RecommendResponse>(Get("/api/v1/recommendations?user_id=u77&n=3").body);
  ASSERT_EQ(before.items_size(), 3);
  EXPECT_EQ(before.items(0).item_id(), "p0");
  ASSERT_EQ(
      Post("/api/v1/feedback", R"({"userId":"u77","itemId":"p0","event":"FEEDBACK_EVENT_SKIP"})").status,
      200);
  auto after = Parse<recommender::v1::RecommendResponse>(Get("/api/v1/recommendations?user_id=u77&n=3").body);
  EXPECT_EQ(after.items(0).item_id(), "p1");
  bool seen = false;
  for (const auto& f : backends_->recommender.feedback()) {
    seen = seen || (f.user_id() == "u77" && f.event() == recommender::v1::FEEDBACK_EVENT_SKIP);
  }
  EXPECT_TRUE(seen);
}

TEST_F(GatewayTest, RedisDownMeansNoCacheNotErrors) {
  const std::string target = "/api/v1/alerts?product_id=p5";
  Get(target);
  ASSERT_EQ(Get(target).Header("x-cache"), "HIT");
  ASSERT_THAT(redis_server_->Stop(), IsOk());
  for (int i = 0; i < 3; ++i) {
    TestResponse r = Get(target);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("x-cache"), "MISS");
  }
  ASSERT_THAT(redis_server_->Start(), IsOk());
  // Back after the client's down backoff.
  bool hit = false;
  for (int i = 0; i < 50 && !hit; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    Get(target);
    hit = Get(target).Header("x-cache") == "HIT";
  }
  EXPECT_TRUE(hit);
}

// ---- Other configurations -------------------------------------------------------------------------------

TEST_F(GatewayTest, BackendDownIs503AndNotReady) {
  GatewayStackOptions o = DefaultOptions();
  auto port = marketlens::testing::PickFreePort();
  ASSERT_THAT(port, IsOk());
  o.backends["marketlens.recommender.v1.RecommenderService"] = absl::StrCat("127.0.0.1:", *port);
  o.transcoder.default_timeout = absl::Seconds(2);
  auto stack = GatewayStack::Start(o, pool_, redis_);
  ASSERT_THAT(stack, IsOk());
  const int p = (*stack)->http_port();
  TestResponse r = Call("GET", "/api/v1/recommendations?user_id=u1", *read_key_, "", {}, p);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(ParseError(r.body).code, "UNAVAILABLE");
  EXPECT_EQ(Call("GET", "/api/v1/products", *read_key_, "", {}, p).status, 200) << "the others still work";
  auto ready = HttpCall(p, "GET", "/readyz");
  ASSERT_THAT(ready, IsOk());
  EXPECT_EQ(ready->status, 503);
  EXPECT_THAT(ready->body, HasSubstr(R"("status":"not_ready")"));
  EXPECT_THAT(ready->body, HasSubstr(R"("marketlens.analyzer.v1.AnalyzerService":"SERVING")"));
  EXPECT_THAT(ready->body, Not(HasSubstr(R"("marketlens.recommender.v1.RecommenderService":"SERVING")")));
}

TEST_F(GatewayTest, AnonymousReadScope) {
  GatewayStackOptions o = DefaultOptions();
  o.gateway.anonymous_scope = Scope::kRead;
  auto stack = GatewayStack::Start(o, pool_, redis_);
  ASSERT_THAT(stack, IsOk());
  const int p = (*stack)->http_port();
  EXPECT_EQ(Call("GET", "/api/v1/products", "", "", {}, p).status, 200);
  TestResponse w = Call("POST", "/api/v1/feedback", "",
                        R"({"userId":"u","itemId":"p","event":"FEEDBACK_EVENT_LIKE"})", {}, p);
  EXPECT_EQ(w.status, 401);
  EXPECT_THAT(ParseError(w.body).message, HasSubstr("needs an API key with the write scope"));
  EXPECT_EQ(Call("POST", "/api/v1/feedback", *write_key_,
                 R"({"userId":"u","itemId":"p","event":"FEEDBACK_EVENT_LIKE"})", {}, p)
                .status,
            200);
  // A bad key is still refused, not downgraded to anonymous.
  EXPECT_EQ(Call("GET", "/api/v1/products", "mlk_bogus", "", {}, p).status, 401);
}

TEST_F(GatewayTest, AccessLogLines) {
  struct Captured {
    absl::Mutex mu;
    std::vector<std::string> lines;
  };
  auto captured = std::make_shared<Captured>();  // a sink copy may outlive this test on another thread
  logging::SetSinkForTesting([captured](absl::string_view line) {
    absl::MutexLock lock(&captured->mu);
    captured->lines.emplace_back(line);
  });
  Get("/api/v1/products/p4", *read_key_, {{"X-Request-Id", "log-me"}});
  logging::SetSinkForTesting(nullptr);
  absl::MutexLock lock(&captured->mu);
  std::string found;
  for (const auto& l : captured->lines) {
    if (absl::StrContains(l, "\"msg\":\"http request\"")) found = l;
  }
  ASSERT_FALSE(found.empty());
  EXPECT_THAT(found, HasSubstr(R"("request_id":"log-me")"));
  EXPECT_THAT(found, HasSubstr(R"("route":"GET /api/v1/products/{product_id}")"));
  EXPECT_THAT(found, HasSubstr(R"("status":200)"));
  EXPECT_THAT(found, HasSubstr(R"("key_id":")"));
  EXPECT_THAT(found, HasSubstr(R"("level":"info")"));
  EXPECT_THAT(found, Not(HasSubstr(*read_key_))) << "the key itself is never logged";
}

TEST_F(GatewayTest, KeepAliveAcrossManyRequests) {
  auto c = TestConnection::Connect(port_);
  ASSERT_THAT(c, IsOk());
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(c->SendRequest("GET", absl::StrCat("/api/v1/similar-items?item_id=p", i),
                               {{"Authorization", "Bearer " + *read_key_}}),
                IsOk());
    auto r = c->ReadResponse();
    ASSERT_THAT(r, IsOk());
    ASSERT_EQ(r->status, 200);
    EXPECT_THAT(r->body, HasSubstr(absl::StrCat("p", i, "-sim0")));
  }
}

}  // namespace
}  // namespace marketlens::gateway
