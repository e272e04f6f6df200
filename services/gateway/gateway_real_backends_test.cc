// The gateway in front of the REAL services: the marketplace, collector, analyzer and recommender binaries
// run as processes (their own flags, as deploy/local/up.sh starts them) against a real PostgreSQL with the
// real migrations and a real Redis; the gateway is GatewayStack (what main.cc builds) in this process. Data
// arrives the real way: a full crawl started through the gateway (POST /api/v1/crawls) copies a small
// generated marketplace into raw.*, the analyzer analyses the announced reviews, the recommender trains and
// promotes its bootstrap model.
//
// Then every route of openapi.json is called with real ids (a route without a case here fails the test, so a
// new RPC must be added), checking the status and the JSON shape (the body parses into the RPC's response
// message), plus the error mappings the real backends produce: 404 for unknown ids, 400 naming the bad
// field, 401 / 403 for keys, 409/400 for state conflicts. Process logs are test outputs.
//
// Privacy (docs/privacy.md): a person with data in every service is exported, then erased while the analyzer
// is down (the job completes after it restarts); afterwards no text column of any table names them except
// the tombstones, their summaries answer 404, and a full crawl and a re-ingest bring nothing back.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/testing/child_process.h"
#include "common/testing/free_port.h"
#include "common/testing/migrated_database.h"
#include "common/testing/protobuf_status_matchers.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/gateway/gateway_stack.h"
#include "services/gateway/test_http_client.h"

namespace marketlens::gateway {
namespace {

using ::testing::HasSubstr;
using testing::HttpCall;
using testing::TestResponse;
using Headers = std::vector<std::pair<std::string, std::string>>;
using ::marketlens::testing::IsOk;

std::string OutputPath(const std::string& name) {
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (dir == nullptr) dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

// A service binary as a child process, logging to <name>.log in the test outputs (common/testing's
// ChildProcess: SIGTERM, then SIGKILL, when destroyed).
struct Service {
  Service(std::string service_name, const std::vector<std::string>& argv)
      : name(std::move(service_name)), process(argv, OutputPath(absl::StrCat(name, ".log"))) {}
  std::string name;
  marketlens::testing::ChildProcess process;
};

template <typename Fn>
bool WaitFor(Fn done, absl::Duration timeout, absl::Duration every = absl::Milliseconds(200)) {
  const absl::Time until = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > until) return false;
    absl::SleepFor(every);
  }
  return true;
}

const google::protobuf::Struct* Field(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() || !it->second.has_struct_value() ? nullptr : &it->second.struct_value();
}

google::protobuf::Struct ParseStruct(const std::string& json) {
  google::protobuf::Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(json, &s);
  EXPECT_THAT(st, IsOk()) << " in " << json.substr(0, 400);
  return s;
}

class RealBackendsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const absl::Time start = absl::Now();
    auto db = marketlens::testing::CreateMigratedDatabase(marketlens::testing::SharedPostgresServer(),
                                                          {.pool_size = 4});
    ASSERT_THAT(db, IsOk());
    dsn_ = new std::string(db->dsn);
    pool_ = db->pool.release();
    const marketlens::testing::RedisServer& redis_server = marketlens::testing::SharedRedisServer();
    redis::RedisOptions ro;
    ro.host = redis_server.host();
    ro.port = redis_server.port();
    redis_ = new redis::RedisClient(ro);
    const std::string redis_address = absl::StrCat(ro.host, ":", ro.port);

    auto port = [] {
      absl::StatusOr<int> p = marketlens::testing::PickFreePort();
      EXPECT_THAT(p, IsOk());
      return p.ok() ? *p : 0;
    };
    const int marketplace = port(), collector = port(), analyzer = port(), recommender = port();
    auto common = [&](const std::string& binary, int grpc_port, bool storage) {
      std::vector<std::string> argv = {binary, absl::StrCat("--grpc_port=", grpc_port),
                                       absl::StrCat("--metrics_port=", port()), "--drain_seconds=0"};
      if (storage) {
        argv.push_back("--pg_dsn=" + *dsn_);
        argv.push_back("--redis_address=" + redis_address);
      }
      return argv;
    };
    processes_ = new std::vector<std::unique_ptr<Service>>;
    auto start_process = [&](const std::string& name, std::vector<std::string> argv,
                             std::vector<std::string> extra) {
      for (auto& e : extra) argv.push_back(std::move(e));
      processes_->push_back(std::make_unique<Service>(name, argv));
    };
    // A small generated world, no rate limit or faults, the clock standing still (a stable world).
    start_process("marketplace", common("services/marketplace/marketplace", marketplace, false),
                  {"--products=40", "--seed=7", "--rate_limit_rps=0", "--fault_unavailable_rate=0",
                   "--fault_internal_rate=0", "--fault_slow_rate=0", "--clock_speed=0"});
    start_process("collector", common("services/collector/collector", collector, true),
                  {absl::StrCat("--marketplace_address=127.0.0.1:", marketplace), "--marketplace_rate=500",
                   "--marketplace_burst=50", "--crawl_progress_interval=2s"});
    start_process("analyzer", common("services/analyzer/analyzer", analyzer, true),
                  {absl::StrCat("--recommender_address=127.0.0.1:", recommender), "--catchup_interval=1s"});
    const std::string models = OutputPath("models");
    start_process("recommender", common("services/recommender/recommender", recommender, true),
                  {"--artifact_dir=" + models, "--bootstrap_retry_interval=1s", "--model_poll_interval=1s",
                   "--catalog_refresh_interval=1s", "--experiments_refresh_interval=1s"});

    GatewayStackOptions o;
    o.http.host = "127.0.0.1";
    o.http.port = 0;
    o.transcoder.default_timeout = absl::Seconds(10);
    o.gateway.rate_limit_per_second = 10000;
    o.gateway.access_log = false;
    for (const auto& m : GatewayStack::DefaultAdminMethods()) o.gateway.admin_methods.insert(m);
    for (const auto& m : GatewayStack::DefaultCachedMethods()) o.gateway.cached_methods.insert(m);
    o.backends = {{"marketlens.analyzer.v1.AnalyzerService", absl::StrCat("127.0.0.1:", analyzer)},
                  {"marketlens.recommender.v1.RecommenderService", absl::StrCat("127.0.0.1:", recommender)},
                  {"marketlens.collector.v1.CollectorService", absl::StrCat("127.0.0.1:", collector)}};
    o.readiness_interval = absl::Milliseconds(200);
    o.registry = std::make_shared<prometheus::Registry>();
    o.erasure.poll_interval = absl::Milliseconds(200);
    o.erasure.initial_backoff = absl::Milliseconds(200);
    o.erasure.max_backoff = absl::Seconds(1);
    o.erasure.step_timeout = absl::Seconds(5);
    auto stack = GatewayStack::Start(o, pool_, redis_);
    ASSERT_THAT(stack, IsOk());
    stack_ = stack->release();
    port_ = stack_->http_port();
    auto make = [](const char* name, Scope scope) {
      auto k = stack_->api_keys()->Create(name, {scope}, 0);
      EXPECT_THAT(k, IsOk());
      return new std::string(k.ok() ? k->secret : "");
    };
    read_key_ = make("reader", Scope::kRead);
    write_key_ = make("writer", Scope::kWrite);
    admin_key_ = make("admin", Scope::kAdmin);

    // Every backend up (the gateway's readiness checks them all).
    const bool ready = WaitFor(
        [] {
          auto r = HttpCall(port_, "GET", "/readyz");
          return r.ok() && r->status == 200;
        },
        absl::Seconds(20));
    if (!ready) DumpLogs();
    ASSERT_TRUE(ready) << HttpCall(port_, "GET", "/readyz")->body;

    // A full crawl through the gateway.
    TestResponse crawl = Call("POST", "/api/v1/crawls", *admin_key_, R"({"mode":"CRAWL_MODE_FULL"})");
    ASSERT_EQ(crawl.status, 200) << crawl.body;
    const std::string crawl_id = ParseStruct(crawl.body).fields().at("id").string_value();
    crawl_id_ = new std::string(crawl_id);
    std::string last;
    const bool crawled = WaitFor(
        [&] {
          last = Call("GET", absl::StrCat("/api/v1/crawls/", crawl_id), *read_key_).body;
          return absl::StrContains(last, "CRAWL_STATE_SUCCEEDED") ||
                 absl::StrContains(last, "CRAWL_STATE_FAILED");
        },
        absl::Seconds(40), absl::Milliseconds(250));
    if (!crawled || !absl::StrContains(last, "SUCCEEDED")) DumpLogs();
    ASSERT_THAT(last, HasSubstr("CRAWL_STATE_SUCCEEDED"));

    // Real ids, straight from what was collected.
    auto one = [](const std::string& sql) {
      auto r = pool_->Exec(sql);
      EXPECT_TRUE(r.ok() && !r->empty()) << sql;
      return new std::string(r.ok() && !r->empty() ? (*r)[0][0].as<std::string>() : "");
    };
    product_ = one(
        "SELECT product_id FROM raw.reviews GROUP BY product_id ORDER BY count(*) DESC, product_id LIMIT 1");
    customer_ = one(
        "SELECT customer_id FROM raw.interactions GROUP BY customer_id ORDER BY count(*) DESC, customer_id "
        "LIMIT 1");
    segment_ = one("SELECT segment FROM raw.customers WHERE segment <> '' LIMIT 1");
    campaign_ = one("SELECT campaign_id FROM raw.campaign_posts ORDER BY campaign_id LIMIT 1");

    // The analyzer has analysed the product's reviews; the recommender serves a promoted model.
    const bool analysed = WaitFor(
        [] { return Call("GET", absl::StrCat("/api/v1/products/", *product_), *read_key_).status == 200; },
        absl::Seconds(30));
    const bool trained = WaitFor(
        [] { return absl::StrContains(Call("GET", "/api/v1/models", *read_key_).body, "\"promoted\":true"); },
        absl::Seconds(30));
    if (!analysed || !trained) DumpLogs();
    ASSERT_TRUE(analysed) << Call("GET", absl::StrCat("/api/v1/products/", *product_), *read_key_).body;
    ASSERT_TRUE(trained) << Call("GET", "/api/v1/models", *read_key_).body;
    std::cout << "stack with data ready in " << absl::ToDoubleSeconds(absl::Now() - start) << " s\n";
  }

  static void TearDownTestSuite() {
    if (stack_ != nullptr) stack_->Stop(absl::Seconds(1));
    delete stack_;
    delete processes_;  // SIGTERM each service
    delete redis_;
    delete pool_;
    for (std::string* s :
         {dsn_, read_key_, write_key_, admin_key_, crawl_id_, product_, customer_, segment_, campaign_}) {
      delete s;
    }
  }

  static void DumpLogs() {
    for (const auto& p : *processes_) {
      std::string log = p->process.Log();
      if (log.size() > 4000) log = log.substr(log.size() - 4000);
      std::cerr << "---- " << p->name << (p->process.Running() ? "" : " (EXITED)") << " ----\n"
                << log << "\n";
    }
  }

  static TestResponse Call(absl::string_view method, absl::string_view target, const std::string& key,
                           absl::string_view body = "", Headers headers = {}) {
    if (!key.empty()) headers.emplace_back("Authorization", absl::StrCat("Bearer ", key));
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    auto r = HttpCall(port_, method, target, headers, body, absl::Seconds(20));
    EXPECT_THAT(r, IsOk()) << method << " " << target << ": " << r.status();
    return r.ok() ? *r : TestResponse();
  }

  static std::string* dsn_;
  static postgres::PgPool* pool_;
  static redis::RedisClient* redis_;
  static std::vector<std::unique_ptr<Service>>* processes_;
  static GatewayStack* stack_;
  static int port_;
  static std::string *read_key_, *write_key_, *admin_key_;
  static std::string *crawl_id_, *product_, *customer_, *segment_, *campaign_;
};

std::string* RealBackendsTest::dsn_ = nullptr;
postgres::PgPool* RealBackendsTest::pool_ = nullptr;
redis::RedisClient* RealBackendsTest::redis_ = nullptr;
std::vector<std::unique_ptr<Service>>* RealBackendsTest::processes_ = nullptr;
GatewayStack* RealBackendsTest::stack_ = nullptr;
int RealBackendsTest::port_ = 0;
std::string *RealBackendsTest::read_key_ = nullptr, *RealBackendsTest::write_key_ = nullptr,
            *RealBackendsTest::admin_key_ = nullptr;
std::string *RealBackendsTest::crawl_id_ = nullptr, *RealBackendsTest::product_ = nullptr,
            *RealBackendsTest::customer_ = nullptr, *RealBackendsTest::segment_ = nullptr,
            *RealBackendsTest::campaign_ = nullptr;

// The body must be the JSON form of the RPC's response message (parsed strictly: no unknown field).
void ExpectShape(const Route& route, const std::string& body, const std::string& what) {
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<google::protobuf::Message> m(factory.GetPrototype(route.method->output_type())->New());
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(body, m.get(), strict);
  EXPECT_THAT(st, IsOk()) << what << ": not a " << route.method->output_type()->full_name() << ": "
                          << "\n"
                          << body.substr(0, 400);
}

TEST_F(RealBackendsTest, EveryRouteOfTheOpenApiDocument) {
  struct Case {
    std::string target, body, key;
    int status;
    std::string expect;  // a substring of the body
  };
  const std::string& r = *read_key_;
  const std::string& w = *write_key_;
  const std::string& a = *admin_key_;
  const std::string& p = *product_;
  const std::string& c = *customer_;
  TestResponse models = Call("GET", "/api/v1/models", r);
  const auto models_doc = ParseStruct(models.body);
  std::string promoted;
  for (const auto& m : models_doc.fields().at("models").list_value().values()) {
    const auto& f = m.struct_value().fields();
    if (f.contains("promoted") && f.at("promoted").bool_value()) promoted = f.at("version").string_value();
  }
  ASSERT_FALSE(promoted.empty()) << models.body;

  // "METHOD openapi-path" -> the calls made for it, in order.
  const std::map<std::string, std::vector<Case>> cases = {
      // analyzer
      {"POST /api/v1/analyze",
       {{"/api/v1/analyze", R"({"text":"The handle broke after a week."})", w, 200, "\"sentiment\""}}},
      {"GET /api/v1/products", {{"/api/v1/products?page_size=5", "", r, 200, "\"products\":[{"}}},
      {"GET /api/v1/products/{product_id}", {{"/api/v1/products/" + p, "", r, 200, "\"productId\":\"" + p}}},
      {"GET /api/v1/products/{product_id}/reviews",
       {{"/api/v1/products/" + p + "/reviews?page_size=3", "", r, 200, "\"reviews\":[{"}}},
      {"GET /api/v1/alerts", {{"/api/v1/alerts", "", r, 200, "{"}}},
      {"POST /api/v1/alerts/{id}/acknowledge",
       {{"/api/v1/alerts/00000000-0000-0000-0000-000000000000/acknowledge", "{}", w, 404, "not found"},
        {"/api/v1/alerts/not-an-id/acknowledge", "{}", w, 400, "\"id\""}}},
      {"POST /api/v1/alerts/{id}/resolve",
       {{"/api/v1/alerts/00000000-0000-0000-0000-000000000000/resolve", "{}", w, 404, "not found"}}},
      {"GET /api/v1/generate-content/{customer_id}", {{"/api/v1/generate-content/" + c, "", r, 200, c}}},
      {"GET /api/v1/summarized_interactions/{customer_id}",
       {{"/api/v1/summarized_interactions/" + c, "", r, 200, c}}},
      {"POST /api/v1/briefs",
       {{"/api/v1/briefs", R"({"brand":"Acme","product":"kettle","goal":"awareness","platform":"instagram"})",
         w, 200, "\"brief\""}}},
      {"GET /api/v1/top-performers",
       {{"/api/v1/top-performers?campaignId=" + *campaign_ + "&limit=3", "", r, 200, "\"influencer\""}}},
      {"GET /api/v1/interactions-by-product",
       {{"/api/v1/interactions-by-product?customer_type=" + *segment_, "", r, 200, "{"}}},
      // collector
      {"POST /api/v1/crawls", {}},  // made in SetUpTestSuite
      {"GET /api/v1/crawls/{crawl_id}",
       {{"/api/v1/crawls/" + *crawl_id_, "", r, 200, "\"state\":\"CRAWL_STATE_SUCCEEDED\""}}},
      {"GET /api/v1/crawls", {{"/api/v1/crawls", "", r, 200, *crawl_id_}}},
      {"POST /api/v1/crawls/{crawl_id}:cancel",
       {{"/api/v1/crawls/" + *crawl_id_ + ":cancel", "", a, 400, "FAILED_PRECONDITION"}}},
      {"GET /api/v1/products/{product_id}/price-history",
       {{"/api/v1/products/" + p + "/price-history?page_size=10", "", r, 200, "\"points\":[{"}}},
      {"GET /api/v1/shoppers",
       {{"/api/v1/shoppers?page_size=5&segment=" + *segment_, "", r, 200, "\"segment\":\"" + *segment_}}},
      {"GET /api/v1/campaigns", {{"/api/v1/campaigns", "", r, 200, "\"campaignId\":\"" + *campaign_}}},
      // recommender
      {"GET /api/v1/recommendations",
       {{"/api/v1/recommendations?user_id=" + c + "&n=5&surface=home", "", r, 200, "\"items\":[{"}}},
      {"POST /api/v1/recommendations",
       {{"/api/v1/recommendations", R"({"userId":"new-shopper","n":3,"sessionItems":[")" + p + R"("]})", w,
         200, "\"items\":[{"}}},
      {"GET /api/v1/similar-items", {{"/api/v1/similar-items?item_id=" + p + "&n=3", "", r, 200, "{"}}},
      {"GET /api/v1/frequently-bought-together",
       {{"/api/v1/frequently-bought-together?item_ids=" + p + "&n=3", "", r, 200, "{"}}},
      {"POST /api/v1/rerank",
       {{"/api/v1/rerank", R"({"userId":")" + c + R"(","itemIds":[")" + p + R"("]})", w, 200, p}}},
      {"POST /api/v1/feedback",
       {{"/api/v1/feedback",
         R"({"userId":")" + c + R"(","itemId":")" + p + R"(","event":"FEEDBACK_EVENT_CLICK"})", w, 200,
         "{"}}},
      {"DELETE /api/v1/users/{user_id}",
       {{"/api/v1/users/gw-forget-me", "", a, 202, "\"state\":\"pending\""}}},
      {"GET /api/v1/users/{user_id}/export",
       {{"/api/v1/users/" + c + "/export", "", a, 200, "\"service\":\"collector\""}}},
      {"GET /api/v1/erasures/{id}",
       {{"/api/v1/erasures/00000000-0000-0000-0000-000000000000", "", a, 404, "NOT_FOUND"}}},
      {"GET /api/v1/models", {{"/api/v1/models", "", r, 200, promoted}}},
      {"POST /api/v1/models/{version}:promote",
       {{"/api/v1/models/" + promoted + ":promote", "", a, 200, promoted}}},
      {"POST /api/v1/models:rollback", {{"/api/v1/models:rollback", "", a, 400, "FAILED_PRECONDITION"}}},
      {"POST /api/v1/experiments",
       {{"/api/v1/experiments",
         R"({"id":"gw-exp","name":"gateway test","variants":[{"name":"control","weight":1},{"name":"b","weight":1}]})",
         a, 200, "\"id\":\"gw-exp\""}}},
      {"GET /api/v1/experiments", {{"/api/v1/experiments", "", r, 200, "gw-exp"}}},
      {"POST /api/v1/experiments/{experiment_id}:state",
       {{"/api/v1/experiments/gw-exp:state", R"({"state":"running"})", a, 200, "\"state\":\"running\""}}},
      {"GET /api/v1/experiments/{experiment_id}/results",
       {{"/api/v1/experiments/gw-exp/results", "", r, 200, "\"experimentId\":\"gw-exp\""}}},
  };

  auto doc_resp = HttpCall(port_, "GET", "/openapi.json");
  ASSERT_THAT(doc_resp, IsOk());
  const google::protobuf::Struct doc = ParseStruct(doc_resp->body);
  const google::protobuf::Struct* paths = Field(doc, "paths");
  ASSERT_NE(paths, nullptr);
  std::set<std::string> seen;
  // The order of the map puts POST /api/v1/experiments before its :state and /results.
  std::vector<std::pair<std::string, const Route*>> operations;
  int builtins = 0;
  for (const auto& [path, item] : paths->fields()) {
    for (const auto& [method, op] : item.struct_value().fields()) {
      if (method != "get" && method != "post" && method != "put" && method != "delete" && method != "patch") {
        continue;  // e.g. path-level "parameters"
      }
      std::string upper = method;
      for (char& ch : upper) ch = static_cast<char>(std::toupper(ch));
      const std::string key = absl::StrCat(upper, " ", path);
      if (!op.struct_value().fields().contains("x-grpc-method")) {
        // A built-in (/healthz, /readyz, /metrics, /openapi.json): answered by the gateway itself.
        TestResponse resp = Call(upper, path, "");
        EXPECT_EQ(resp.status, 200) << key << ": " << resp.body.substr(0, 300);
        ++builtins;
        continue;
      }
      const std::string grpc_path = op.struct_value().fields().at("x-grpc-method").string_value();
      const Route* route = nullptr;
      for (const Route& rt : stack_->routes().routes()) {
        if (rt.grpc_path == grpc_path && rt.http_method == upper && rt.path.OpenApiPath() == path)
          route = &rt;
      }
      ASSERT_NE(route, nullptr) << key;
      operations.emplace_back(key, route);
    }
  }
  std::sort(operations.begin(), operations.end(), [&](const auto& x, const auto& y) {
    // Creation before use: experiments are made before they are started and read.
    auto rank = [](const std::string& k) { return k == "POST /api/v1/experiments" ? 0 : 1; };
    return std::make_pair(rank(x.first), x.first) < std::make_pair(rank(y.first), y.first);
  });
  EXPECT_GE(operations.size(), 30u);
  EXPECT_EQ(operations.size(), stack_->routes().routes().size());
  EXPECT_GE(builtins, 3);
  for (const auto& [key, route] : operations) {
    auto it = cases.find(key);
    if (it == cases.end()) {
      ADD_FAILURE() << "no case for " << key << ": add one to this test";
      continue;
    }
    seen.insert(key);
    for (const Case& k : it->second) {
      const std::string method = key.substr(0, key.find(' '));
      TestResponse resp = Call(method, k.target, k.key, k.body);
      EXPECT_EQ(resp.status, k.status) << key << " " << k.target << ": " << resp.body.substr(0, 400);
      EXPECT_THAT(resp.body, HasSubstr(k.expect)) << key << " " << k.target;
      EXPECT_EQ(resp.Header("content-type"), "application/json") << key;
      if (resp.status == 200 || resp.status == 202) {
        ExpectShape(*route, resp.body, key);
      } else {
        const auto err = ParseStruct(resp.body);
        EXPECT_NE(Field(err, "error"), nullptr) << key << ": " << resp.body;
      }
    }
  }
  for (const auto& [key, unused] : cases) EXPECT_TRUE(seen.contains(key)) << key << " is not in openapi.json";
}

struct ErrorBody {
  std::string code, field;
};
ErrorBody ErrorOf(const TestResponse& r) {
  ErrorBody e;
  const auto s = ParseStruct(r.body);
  const google::protobuf::Struct* err = Field(s, "error");
  EXPECT_NE(err, nullptr) << r.body;
  if (err == nullptr) return e;
  e.code = err->fields().at("code").string_value();
  if (err->fields().contains("field")) e.field = err->fields().at("field").string_value();
  return e;
}

TEST_F(RealBackendsTest, ErrorMappingsOfRealBackends) {
  const std::string& r = *read_key_;
  // 404: unknown ids, from the analyzer and from the collector.
  TestResponse resp = Call("GET", "/api/v1/products/no-such-product", r);
  EXPECT_EQ(resp.status, 404) << resp.body;
  EXPECT_EQ(ErrorOf(resp).code, "NOT_FOUND");
  resp = Call("GET", "/api/v1/products/no-such-product/price-history", r);
  EXPECT_EQ(resp.status, 404) << resp.body;
  EXPECT_EQ(ErrorOf(resp).field, "product_id");
  resp = Call("GET", "/api/v1/crawls/00000000-0000-0000-0000-000000000000", r);
  EXPECT_EQ(resp.status, 404) << resp.body;

  // 400 naming the field: bad values the backends refuse, and ones the gateway refuses while binding.
  for (const std::string& target :
       {std::string("/api/v1/products?page_size=100000"), std::string("/api/v1/shoppers?page_size=501"),
        std::string("/api/v1/campaigns?page_size=-1"),
        "/api/v1/products/" + *product_ + "/price-history?page_size=5000"}) {
    resp = Call("GET", target, r);
    EXPECT_EQ(resp.status, 400) << target << ": " << resp.body;
    const ErrorBody e = ErrorOf(resp);
    EXPECT_EQ(e.code, "INVALID_ARGUMENT") << target;
    EXPECT_EQ(e.field, "page_size") << target << ": " << resp.body;
  }
  resp = Call("GET", "/api/v1/shoppers?page_token=not-a-token", r);
  EXPECT_EQ(resp.status, 400) << resp.body;
  EXPECT_EQ(ErrorOf(resp).field, "page_token");
  resp = Call("GET", "/api/v1/recommendations?user_id=x&n=1000", r);
  EXPECT_EQ(resp.status, 400) << resp.body;
  EXPECT_EQ(ErrorOf(resp).field, "n");
  resp = Call("GET", "/api/v1/shoppers?page_size=ten", r);  // a wrong type, refused by the gateway
  EXPECT_EQ(resp.status, 400) << resp.body;
  EXPECT_EQ(ErrorOf(resp).field, "page_size");
  resp = Call("POST", "/api/v1/feedback", *write_key_, "{not json");
  EXPECT_EQ(resp.status, 400) << resp.body;

  // 401 / 403.
  resp = Call("GET", "/api/v1/shoppers", "");
  EXPECT_EQ(resp.status, 401) << resp.body;
  resp = Call("GET", "/api/v1/shoppers", "mlk_wrong");
  EXPECT_EQ(resp.status, 401) << resp.body;
  resp = Call("POST", "/api/v1/feedback", r, R"({"userId":"u","itemId":"i","event":"FEEDBACK_EVENT_CLICK"})");
  EXPECT_EQ(resp.status, 403) << resp.body;
  resp = Call("POST", "/api/v1/crawls", *write_key_, R"({"mode":"CRAWL_MODE_FULL"})");
  EXPECT_EQ(resp.status, 403) << resp.body;  // admin only
  EXPECT_EQ(ErrorOf(resp).code, "PERMISSION_DENIED");
}

// Rows naming `needle` (exactly, or as a word of a longer text) in every text column of the data schemas,
// "schema.table.column" -> count. The tombstones are left out (privacy.*, the recommender's
// recsys.forgotten_users): they are what remains of a forgotten person by design.
std::map<std::string, int64_t> RowsNaming(postgres::PgPool& pool, const std::string& needle) {
  std::map<std::string, int64_t> found;
  auto columns = pool.Exec(
      "SELECT table_schema, table_name, column_name FROM information_schema.columns c "
      "JOIN information_schema.tables t USING (table_schema, table_name) "
      "WHERE t.table_type = 'BASE TABLE' AND c.data_type = 'text' "
      "AND table_schema IN ('raw', 'ingest', 'insights', 'recsys', 'ops', 'gateway') "
      "AND NOT (table_schema = 'recsys' AND table_name = 'forgotten_users')");
  EXPECT_THAT(columns, IsOk());
  if (!columns.ok()) return found;
  std::string pattern = "(^|[^A-Za-z0-9_.@-])";
  for (char ch : needle) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch))) pattern.push_back('\\');
    pattern.push_back(ch);
  }
  pattern += "($|[^A-Za-z0-9_.@-])";
  for (const auto& row : *columns) {
    const std::string table = absl::StrCat(row[0].as<std::string>(), ".", row[1].as<std::string>());
    const std::string column = row[2].as<std::string>();
    auto n = pool.Exec(
        absl::StrCat("SELECT count(*) FROM ", table, " WHERE \"", column, "\" = $1 OR \"", column, "\" ~ $2"),
        needle, pattern);
    EXPECT_THAT(n, IsOk()) << table << "." << column << ": " << n.status();
    if (n.ok() && (*n)[0][0].as<int64_t>() > 0) found[table + "." + column] = (*n)[0][0].as<int64_t>();
  }
  return found;
}

int64_t Count(postgres::PgPool& pool, const std::string& sql, const std::string& arg) {
  auto r = pool.Exec(sql, arg);
  EXPECT_THAT(r, IsOk()) << sql << ": " << r.status();
  return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
}

TEST_F(RealBackendsTest, ErasureAcrossTheRealServicesSurvivesAServiceDownAndStaysErased) {
  const std::string& a = *admin_key_;
  // A person with data everywhere: marketplace profile, contacts, reviews, interactions.
  auto picked = pool_->Exec(
      "SELECT c.id, c.email FROM raw.customers c WHERE c.email <> '' "
      "AND EXISTS (SELECT 1 FROM raw.contacts k WHERE k.customer_id = c.id) "
      "AND EXISTS (SELECT 1 FROM raw.reviews r WHERE r.customer_id = c.id) "
      "AND EXISTS (SELECT 1 FROM raw.interactions i WHERE i.customer_id = c.id) "
      "AND c.id <> $1 ORDER BY c.id LIMIT 1",
      *customer_);
  ASSERT_TRUE(picked.ok() && !picked->empty()) << "no customer with contacts, reviews and interactions";
  const std::string person = (*picked)[0][0].as<std::string>();
  const std::string email = (*picked)[0][1].as<std::string>();
  const int64_t reviews = Count(*pool_, "SELECT count(*) FROM raw.reviews WHERE customer_id = $1", person);
  std::cout << "erasing " << reviews << " reviews' link, contacts and interactions of one customer\n";

  // Their feedback reaches recsys.events (through the recommender's stream writer).
  const std::string p = *product_;
  ASSERT_EQ(Call("POST", "/api/v1/feedback", *write_key_,
                 absl::StrCat(R"({"userId":")", person, R"(","itemId":")", p,
                              R"(","event":"FEEDBACK_EVENT_CLICK"})"))
                .status,
            200);
  ASSERT_TRUE(WaitFor(
      [&] { return Count(*pool_, "SELECT count(*) FROM recsys.events WHERE user_id = $1", person) > 0; },
      absl::Seconds(10)));
  // Content about them exists, and indexes them in the analyzer.
  TestResponse summary = Call("GET", "/api/v1/summarized_interactions/" + person, *read_key_);
  ASSERT_EQ(summary.status, 200) << summary.body;
  ASSERT_EQ(Call("GET", "/api/v1/generate-content/" + person, *read_key_).status, 200);

  // Export before erasure: every service, their profile and rows.
  TestResponse exported = Call("GET", "/api/v1/users/" + person + "/export", a);
  ASSERT_EQ(exported.status, 200) << exported.body.substr(0, 400);
  EXPECT_THAT(exported.body, HasSubstr(email));
  for (const char* table : {"raw.customers", "raw.contacts", "raw.interactions", "raw.reviews",
                            "recsys.events", "retrieval_index"}) {
    EXPECT_THAT(exported.body, HasSubstr(absl::StrCat("\"name\":\"", table, "\""))) << table;
  }
  EXPECT_THAT(exported.body, HasSubstr("\"service\":\"analyzer\""));
  EXPECT_THAT(exported.body, HasSubstr("\"service\":\"recommender\""));
  EXPECT_FALSE(RowsNaming(*pool_, person).empty());

  // The analyzer crashes; the erasure is asked for meanwhile.
  Service& analyzer = *(*processes_)[2];
  ASSERT_EQ(analyzer.name, "analyzer");
  analyzer.process.Kill(SIGKILL);
  TestResponse started = Call("DELETE", "/api/v1/users/" + person, a);
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string id = ParseStruct(started.body).fields().at("id").string_value();
  // The collector's step is done, the analyzer's keeps failing.
  std::string job;
  ASSERT_TRUE(WaitFor(
      [&] {
        job = Call("GET", "/api/v1/erasures/" + id, a).body;
        return absl::StrContains(job, R"("stepsDone":["collector"])") && absl::StrContains(job, "analyzer: ");
      },
      absl::Seconds(20)))
      << job;
  EXPECT_THAT(job, HasSubstr(R"("state":"pending")"));
  // Already, nothing is generated about them (the tombstone), even from the analyzer's copies.
  EXPECT_EQ(Count(*pool_, "SELECT count(*) FROM raw.contacts WHERE customer_id = $1", person), 0);

  analyzer.process.Restart();
  ASSERT_TRUE(WaitFor(
      [&] {
        job = Call("GET", "/api/v1/erasures/" + id, a).body;
        return absl::StrContains(job, R"("state":"completed")");
      },
      absl::Seconds(60), absl::Milliseconds(500)))
      << job;
  if (!absl::StrContains(job, "completed")) DumpLogs();
  EXPECT_THAT(job, HasSubstr(R"("stepsDone":["collector","analyzer","recommender"])"));
  EXPECT_THAT(job, HasSubstr("collector/raw.contacts"));
  EXPECT_THAT(job, HasSubstr("collector/raw.reviews:pseudonymised"));
  EXPECT_THAT(job, HasSubstr("recommender/recsys.events"));
  EXPECT_THAT(job, HasSubstr("analyzer/retrieval_index"));
  EXPECT_THAT(job, ::testing::Not(HasSubstr(person)));  // the audit record holds no personal data
  EXPECT_THAT(job, ::testing::Not(HasSubstr(email)));

  // Nothing names them any more, except the tombstones; reviews keep their text under a pseudonym.
  EXPECT_THAT(RowsNaming(*pool_, person), ::testing::IsEmpty());
  EXPECT_THAT(RowsNaming(*pool_, email), ::testing::IsEmpty());
  EXPECT_EQ(Count(*pool_, "SELECT count(*) FROM raw.reviews WHERE customer_id LIKE 'erased-%' AND $1 <> ''",
                  person),
            reviews);
  EXPECT_EQ(Count(*pool_,
                  "SELECT count(*) FROM privacy.erasures WHERE subject_id IS NULL AND subject_hash = "
                  "privacy.subject_hash($1)",
                  person),
            1);

  // Their summaries and content answer 404; their feedback is refused.
  const bool analyzer_up = WaitFor(
      [&] { return Call("GET", "/api/v1/summarized_interactions/" + person, *read_key_).status == 404; },
      absl::Seconds(30));
  EXPECT_TRUE(analyzer_up) << Call("GET", "/api/v1/summarized_interactions/" + person, *read_key_).body;
  EXPECT_EQ(Call("GET", "/api/v1/generate-content/" + person, *read_key_).status, 404);
  TestResponse feedback = Call(
      "POST", "/api/v1/feedback", *write_key_,
      absl::StrCat(R"({"userId":")", person, R"(","itemId":")", p, R"(","event":"FEEDBACK_EVENT_CLICK"})"));
  EXPECT_EQ(feedback.status, 400) << feedback.body;

  // A re-ingest of a file naming them: their rows (and refused lines) are dropped, counted as erased_subject.
  const std::string csv =
      absl::StrCat("id,customer_id,started_at,channel,topic,notes\n",  //
                   "ct-privacy-1,", person, ",2024-01-05T10:00:00Z,email,billing,asked about a refund\n",
                   "ct-privacy-2,", *customer_, ",2024-01-05T11:00:00Z,email,billing,someone else\n",
                   "ct-privacy-3,", person, ",not-a-date,email,billing,a line refused\n");
  for (int round = 0; round < 2; ++round) {
    auto ingested = HttpCall(port_, "POST", "/api/v1/ingest?kind=contacts&filename=privacy.csv",
                             {{"Authorization", "Bearer " + *write_key_}, {"Content-Type", "text/csv"}}, csv,
                             absl::Seconds(20));
    ASSERT_THAT(ingested, IsOk());
    ASSERT_EQ(ingested->status, 200) << ingested->body;
    EXPECT_THAT(ingested->body, HasSubstr(R"("erasedSubject":"1")")) << ingested->body;
  }
  EXPECT_EQ(Count(*pool_, "SELECT count(*) FROM raw.contacts WHERE id = $1", "ct-privacy-2"), 1);

  // A full crawl: the marketplace still has them; nothing comes back.
  TestResponse crawl = Call("POST", "/api/v1/crawls", a, R"({"mode":"CRAWL_MODE_FULL"})");
  ASSERT_EQ(crawl.status, 200) << crawl.body;
  const std::string crawl_id = ParseStruct(crawl.body).fields().at("id").string_value();
  std::string last;
  ASSERT_TRUE(WaitFor(
      [&] {
        last = Call("GET", "/api/v1/crawls/" + crawl_id, *read_key_).body;
        return absl::StrContains(last, "CRAWL_STATE_SUCCEEDED") ||
               absl::StrContains(last, "CRAWL_STATE_FAILED");
      },
      absl::Seconds(60), absl::Milliseconds(250)));
  ASSERT_THAT(last, HasSubstr("CRAWL_STATE_SUCCEEDED"));
  EXPECT_THAT(RowsNaming(*pool_, person), ::testing::IsEmpty());
  EXPECT_THAT(RowsNaming(*pool_, email), ::testing::IsEmpty());
  EXPECT_EQ(Count(*pool_, "SELECT count(*) FROM raw.reviews WHERE customer_id LIKE 'erased-%' AND $1 <> ''",
                  person),
            reviews);

  // A second DELETE: a new job, which finds nothing left.
  TestResponse again = Call("DELETE", "/api/v1/users/" + person, a);
  ASSERT_EQ(again.status, 202) << again.body;
  const std::string again_id = ParseStruct(again.body).fields().at("id").string_value();
  ASSERT_TRUE(WaitFor(
      [&] {
        job = Call("GET", "/api/v1/erasures/" + again_id, a).body;
        return absl::StrContains(job, R"("state":"completed")");
      },
      absl::Seconds(30)))
      << job;
  EXPECT_THAT(job, HasSubstr(R"("kind":"collector/raw.contacts","count":"0")"));
}

}  // namespace
}  // namespace marketlens::gateway
