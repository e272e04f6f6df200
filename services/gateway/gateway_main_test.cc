// The real binaries: //services/gateway:gateway started as a process with its flags (against the fake
// backends, a real Postgres with the migrations and a real Redis), API keys made with //services/gateway:cli,
// the admin gRPC service, the compiled-in dashboard, and a graceful SIGTERM (lame duck, drain, exit 0).
#include <signal.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/testing/child_process.h"
#include "common/testing/free_port.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/migrated_database.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/gateway/v1/gateway.grpc.pb.h"
#include "services/gateway/fake_backends.h"
#include "services/gateway/test_http_client.h"

namespace marketlens::gateway {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;
using testing::HttpCall;

std::string TempPath(const char* name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs to completion; returns the exit code and fills stdout (stderr is printed on a failure).
int RunProcess(const std::vector<std::string>& argv, std::string* out) {
  const std::string o = TempPath("run.out"), e = TempPath("run.err");
  absl::StatusOr<int> code = marketlens::testing::RunProcess(
      argv, {.stdout_path = o, .stderr_path = e, .truncate = true}, absl::Seconds(60));
  *out = ReadFile(o);
  if (!code.ok() || *code != 0) std::cerr << "stderr of " << argv[0] << ":\n" << ReadFile(e);
  return code.ok() ? *code : -1;
}

class GatewayMainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The pool is only for the migrations: the binaries connect with dsn_.
    auto db = marketlens::testing::CreateMigratedDatabase(marketlens::testing::SharedPostgresServer(),
                                                          {.pool_size = 1});
    ASSERT_THAT(db, IsOk());
    dsn_ = db->dsn;
    backends_ = testing::FakeBackends::Start();
  }

  std::string dsn_;
  std::unique_ptr<testing::FakeBackends> backends_;
  std::unique_ptr<marketlens::testing::ChildProcess> gateway_;
};

TEST_F(GatewayMainTest, BinaryServesAndShutsDownGracefully) {
  // Keys with the CLI.
  std::string out;
  ASSERT_EQ(RunProcess({"services/gateway/cli", "create-key", "--pg_dsn=" + dsn_, "--name=main-test",
                        "--scopes=read,write", "--quiet"},
                       &out),
            0);
  const std::string key(absl::StripAsciiWhitespace(out));
  ASSERT_TRUE(absl::StartsWith(key, "mlk_")) << out;
  ASSERT_EQ(
      RunProcess({"services/gateway/cli", "create-key", "--pg_dsn=" + dsn_, "--name=doomed", "--scopes=read"},
                 &out),
      0);
  EXPECT_THAT(out, HasSubstr("created "));
  const std::vector<std::string> lines = absl::StrSplit(absl::StripAsciiWhitespace(out), '\n');
  const std::string doomed = lines.back();
  const std::string doomed_id = doomed.substr(4, 12);
  ASSERT_EQ(RunProcess({"services/gateway/cli", "revoke-key", "--pg_dsn=" + dsn_, "--id=" + doomed_id}, &out),
            0);
  EXPECT_THAT(out, HasSubstr("revoked " + doomed_id));
  ASSERT_EQ(RunProcess({"services/gateway/cli", "list-keys", "--pg_dsn=" + dsn_}, &out), 0);
  EXPECT_THAT(out, HasSubstr("main-test  scopes=read,write"));
  EXPECT_THAT(out, HasSubstr("REVOKED"));
  EXPECT_NE(
      RunProcess({"services/gateway/cli", "create-key", "--pg_dsn=" + dsn_, "--name=x", "--scopes=root"},
                 &out),
      0);

  auto http = marketlens::testing::PickFreePort();
  auto grpc_port = marketlens::testing::PickFreePort();
  auto metrics = marketlens::testing::PickFreePort();
  ASSERT_THAT(http, IsOk());
  ASSERT_THAT(grpc_port, IsOk());
  ASSERT_THAT(metrics, IsOk());
  const std::string err = TempPath("gateway.err");
  gateway_ = std::make_unique<marketlens::testing::ChildProcess>(
      std::vector<std::string>{
          "services/gateway/gateway", absl::StrCat("--http_port=", *http),
          absl::StrCat("--grpc_port=", *grpc_port), absl::StrCat("--metrics_port=", *metrics),
          "--grpc_host=127.0.0.1", "--http_host=127.0.0.1", "--pg_dsn=" + dsn_,
          absl::StrCat("--redis_address=127.0.0.1:", marketlens::testing::SharedRedisServer().port()),
          "--analyzer_address=" + backends_->analyzer_address(),
          "--recommender_address=" + backends_->recommender_address(),
          "--collector_address=" + backends_->collector_address(), "--readiness_interval=200ms",
          "--http_lame_duck=500ms", "--drain_seconds=2", "--cors_origins=http://localhost:5173"},
      marketlens::testing::SpawnOptions{
          .stdout_path = TempPath("gateway.out"), .stderr_path = err, .truncate = true});
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    auto r = HttpCall(*http, "GET", "/readyz", {}, "", absl::Seconds(1));
    ready = r.ok() && r->status == 200;
  }
  ASSERT_TRUE(ready) << ReadFile(err);

  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + key}};
  auto r = HttpCall(*http, "GET", "/api/v1/products?page_size=2", auth);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_THAT(r->body, HasSubstr("\"totalSize\":\"10\""));
  EXPECT_EQ(r->Header("x-cache"), "MISS");
  r = HttpCall(*http, "GET", "/api/v1/products?page_size=2", auth);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->Header("x-cache"), "HIT") << "Redis from --redis_address caches: " << ReadFile(err);
  r = HttpCall(*http, "GET", "/api/v1/products", {{"Authorization", "Bearer " + doomed}});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 401);
  r = HttpCall(*http, "GET", "/");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->Header("content-type"), HasSubstr("text/html"));
  EXPECT_THAT(r->body, HasSubstr("marketlens"));
  r = HttpCall(*http, "GET", "/openapi.json");
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->body, HasSubstr("\"/api/v1/products\""));
  r = HttpCall(*metrics, "GET", "/metrics");
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->body, HasSubstr("http_requests_total{"));

  // The admin API on the gRPC port.
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", *grpc_port), grpc::InsecureChannelCredentials());
  auto stub = v1::GatewayAdminService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ListApiKeysResponse keys;
  grpc::Status st = stub->ListApiKeys(&ctx, v1::ListApiKeysRequest(), &keys);
  ASSERT_THAT(st, IsOk());
  EXPECT_EQ(keys.keys_size(), 2);
  grpc::ClientContext ctx2;
  v1::CreateApiKeyRequest create;
  create.set_name("over-grpc");
  create.add_scopes(v1::SCOPE_ADMIN);
  v1::CreateApiKeyResponse created;
  ASSERT_THAT(stub->CreateApiKey(&ctx2, create, &created), IsOk());
  r = HttpCall(*http, "POST", "/api/v1/models/als-2:promote", {{"X-Api-Key", created.secret()}});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200) << r->body;
  grpc::ClientContext ctx3;
  v1::RevokeApiKeyRequest revoke;
  revoke.set_id(created.key().id());
  v1::ApiKey revoked;
  ASSERT_THAT(stub->RevokeApiKey(&ctx3, revoke, &revoked), IsOk());
  EXPECT_TRUE(revoked.has_revoked_at());
  r = HttpCall(*http, "GET", "/api/v1/models", {{"X-Api-Key", created.secret()}});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 401) << "revoked over gRPC: refused at once by the same process";

  // SIGTERM: /readyz fails during the lame duck while requests are still served, then the process exits 0.
  ASSERT_TRUE(gateway_->Signal(SIGTERM));
  absl::SleepFor(absl::Milliseconds(150));
  r = HttpCall(*http, "GET", "/readyz");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 503);
  EXPECT_THAT(r->body, HasSubstr("draining"));
  r = HttpCall(*http, "GET", "/api/v1/alerts", auth);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  // Exits by itself within 10 s (else SIGKILL: 137).
  EXPECT_EQ(gateway_->Kill(0, absl::Seconds(10)), 0) << ReadFile(err);
  const std::string log = ReadFile(err);
  EXPECT_THAT(log, HasSubstr("\"msg\":\"http drained\""));
  EXPECT_THAT(log, HasSubstr("\"msg\":\"http request\""));
  EXPECT_FALSE(HttpCall(*http, "GET", "/healthz", {}, "", absl::Milliseconds(500)).ok());
}

TEST_F(GatewayMainTest, BadFlagsExitWith2) {
  std::string out;
  EXPECT_EQ(RunProcess({"services/gateway/gateway", "--pg_dsn=" + dsn_, "--anonymous_scope=root",
                        "--cors_origins=example.com", "--max_body_bytes=0"},
                       &out),
            2);
}

}  // namespace
}  // namespace marketlens::gateway
