// The dashboard in a real headless Chromium (dashboard_test.mjs, over the DevTools protocol): the gateway
// with the compiled-in dashboard files, against the fake backends (30 products) and a real Postgres for the
// API key. Screenshots land in the test's undeclared outputs (bazel-testlogs/.../test.outputs/).
// Missing chromium or node is a failure with a clear message, never a skip.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/postgres/pool.h"
#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/gateway/fake_backends.h"
#include "services/gateway/gateway_stack.h"

namespace marketlens::gateway {
namespace {

using ::marketlens::testing::IsOk;

bool Executable(const char* path) { return access(path, X_OK) == 0; }

TEST(DashboardTest, PagesWorkInHeadlessChromium) {
  const char* chromium_env = std::getenv("CHROMIUM");
  const std::string chromium = chromium_env != nullptr ? chromium_env : "/usr/bin/chromium";
  ASSERT_TRUE(Executable(chromium.c_str())) << chromium << " is missing: apt-get install chromium";
  ASSERT_TRUE(Executable("/usr/bin/node")) << "node is missing: apt-get install nodejs";

  auto db = marketlens::testing::CreateMigratedDatabase(marketlens::testing::SharedPostgresServer(),
                                                        {.pool_size = 2});
  ASSERT_THAT(db, IsOk());
  auto backends = testing::FakeBackends::Start(/*products=*/30);

  GatewayStackOptions o;
  o.http.host = "127.0.0.1";
  o.http.port = 0;
  o.gateway.rate_limit_per_second = 1000;
  o.gateway.access_log = false;
  o.backends = {{"marketlens.analyzer.v1.AnalyzerService", backends->analyzer_address()},
                {"marketlens.recommender.v1.RecommenderService", backends->recommender_address()},
                {"marketlens.collector.v1.CollectorService", backends->collector_address()}};
  auto stack = GatewayStack::Start(o, db->pool.get(), nullptr);
  ASSERT_THAT(stack, IsOk());
  auto key = (*stack)->api_keys()->Create("dashboard-test", {Scope::kWrite}, 0);
  ASSERT_THAT(key, IsOk());

  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const std::string shots = absl::StrCat(outputs != nullptr ? outputs : "/tmp", "/dashboard-screenshots");
  const std::string cmd = absl::StrCat("BASE_URL=http://127.0.0.1:", (*stack)->http_port(),
                                       " API_KEY=", key->secret, " SCREENSHOT_DIR='", shots, "' CHROMIUM='",
                                       chromium, "' /usr/bin/node --experimental-websocket --no-warnings ",
                                       "services/gateway/dashboard_test.mjs 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  const int status = pclose(p);
  std::cout << out;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;

  // The clicks reached the recommender.
  bool skipped = false, liked = false;
  for (const auto& f : backends->recommender.feedback()) {
    skipped = skipped || (f.user_id() == "C0000003" && f.event() == recommender::v1::FEEDBACK_EVENT_SKIP &&
                          f.surface() == "home");
    liked = liked || (f.user_id() == "C0000003" && f.event() == recommender::v1::FEEDBACK_EVENT_LIKE);
  }
  EXPECT_TRUE(skipped);
  EXPECT_TRUE(liked);
  // The upload reached the collector (the refused one did not).
  EXPECT_EQ(backends->collector.ingested_files.load(), 1);
  for (const char* name : {"01-products", "03-product", "05-recommendations", "07-campaigns", "08-upload"}) {
    std::ifstream png(absl::StrCat(shots, "/", name, ".png"), std::ios::binary);
    std::stringstream s;
    s << png.rdbuf();
    EXPECT_GT(s.str().size(), 5000u) << name << ".png";
  }
}

}  // namespace
}  // namespace marketlens::gateway
