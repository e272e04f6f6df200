// ServiceContext::AddShutdownHook as RunService runs it, against a throwaway PostgreSQL and Redis: on SIGTERM
// the hooks run after the gRPC server has drained (a call in flight at the signal has been answered), the
// last registered first, each exactly once, while the shared Postgres pool and Redis client still work;
// the pool is destroyed after them. Hooks also run when setup fails. A hook past its timeout is abandoned,
// the others still run, and the process exits instead of destroying the clients under it.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging/log.h"
#include "common/postgres/pool.h"
#include "common/server/channel.h"
#include "common/service/service_main.h"
#include "common/testing/free_port.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"

namespace marketlens::service {
namespace {

using ::marketlens::testing::IsOk;
using marketplace::v1::MarketplaceService;

// Calls RunService with these flags (argv[0] added).
int RunWithFlags(const std::vector<std::string>& flags, const ServiceSpec& spec,
                 const std::function<absl::Status(ServiceContext&)>& setup) {
  std::vector<std::string> args = {"shutdown_hooks_test"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return RunService(static_cast<int>(args.size()), argv.data(), spec, setup);
}

// --grpc_port and --metrics_port on free ports of 127.0.0.1; *grpc_port (if given) gets the gRPC one.
std::vector<std::string> PortFlags(int* grpc_port = nullptr) {
  absl::StatusOr<int> grpc = testing::PickFreePort();
  absl::StatusOr<int> metrics = testing::PickFreePort();
  if (!grpc.ok() || !metrics.ok() || *grpc == *metrics) {
    std::fprintf(stderr, "no free ports\n");
    std::abort();
  }
  if (grpc_port != nullptr) *grpc_port = *grpc;
  return {"--grpc_host=127.0.0.1", absl::StrCat("--grpc_port=", *grpc),
          absl::StrCat("--metrics_port=", *metrics)};
}

// What happened, in order.
class Events {
 public:
  void Add(const std::string& event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }
  std::vector<std::string> Get() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> events_;
};

// GetProduct tells the test it has started, holds the call until the test has sent SIGTERM and 300 ms
// longer (so the drain has to wait for it), then records that it answers.
class HoldingMarketplace : public MarketplaceService::Service {
 public:
  HoldingMarketplace(Events* events, std::atomic<bool>* signalled) : events_(events), signalled_(signalled) {}

  grpc::Status GetProduct(grpc::ServerContext*, const marketplace::v1::GetProductRequest* request,
                          marketplace::v1::Product* response) override {
    started_.Notify();
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (!signalled_->load() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
    absl::SleepFor(absl::Milliseconds(300));
    response->set_id(request->product_id());
    events_->Add("rpc answered");
    return grpc::Status::OK;
  }

  absl::Notification& started() { return started_; }

 private:
  Events* events_;
  std::atomic<bool>* signalled_;
  absl::Notification started_;
};

// The connections a pool named `application_name` has open on the server, seen from another connection.
absl::StatusOr<int64_t> OpenConnections(postgres::PgPool& observer, const std::string& application_name) {
  auto r =
      observer.Exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", application_name);
  if (!r.ok()) return r.status();
  return (*r)[0][0].as<int64_t>();
}

// Runs first in this process (before any SIGTERM): setup failing still runs the hooks it registered, once.
TEST(ShutdownHookTest, HooksRunOnceWhenSetupFails) {
  std::atomic<int> runs{0};
  const int code = RunWithFlags(PortFlags(), {.name = "hooks_setup_fails"}, [&](ServiceContext& ctx) {
    ctx.AddShutdownHook("counter", [&runs] { runs.fetch_add(1); });
    return absl::InternalError("setup broke after starting a background thread");
  });
  EXPECT_EQ(code, 1);
  EXPECT_EQ(runs.load(), 1);
}

TEST(ShutdownHookTest, OnSigtermHooksRunAfterTheDrainLastFirstOnceBeforeTheClientsAreDestroyed) {
  std::unique_ptr<testing::PostgresServer> pg = testing::PostgresServer::StartOrDie();
  auto redis_server = testing::RedisServer::Create();
  ASSERT_THAT(redis_server, IsOk());
  const std::string name = "hooks_test";

  Events events;
  std::atomic<bool> signalled{false};
  HoldingMarketplace marketplace(&events, &signalled);
  std::atomic<int> first_runs{0};
  std::atomic<int> second_runs{0};
  absl::Status pg_in_hook = absl::UnknownError("hook did not run");
  int64_t open_in_hook = -1;
  absl::Status redis_in_hook = absl::UnknownError("hook did not run");

  int grpc_port = 0;
  std::vector<std::string> flags = PortFlags(&grpc_port);
  flags.push_back("--pg_dsn=" + pg->dsn());
  flags.push_back(absl::StrCat("--redis_address=127.0.0.1:", (*redis_server)->port()));
  flags.push_back("--drain_seconds=20");
  int code = -1;
  std::thread service([&] {
    code = RunWithFlags(flags, {.name = name, .postgres = true, .redis = true}, [&](ServiceContext& ctx) {
      ctx.server().AddService(&marketplace);
      // Registered first, so it runs last: the clients must still be there.
      ctx.AddShutdownHook("first", [&] {
        events.Add("hook first");
        first_runs.fetch_add(1);
        absl::StatusOr<int64_t> open = OpenConnections(*ctx.postgres(), name);
        pg_in_hook = open.status();
        if (open.ok()) open_in_hook = *open;
        redis_in_hook = ctx.redis()->Ping();
      });
      ctx.AddShutdownHook("second", [&] {
        events.Add("hook second");
        second_runs.fetch_add(1);
      });
      return absl::OkStatus();
    });
  });

  // A call in flight when SIGTERM arrives.
  auto stub = MarketplaceService::NewStub(server::MakeChannel(absl::StrCat("127.0.0.1:", grpc_port)));
  grpc::Status call_status;
  std::thread call([&] {
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    marketplace::v1::GetProductRequest req;
    req.set_product_id("p1");
    marketplace::v1::Product resp;
    call_status = stub->GetProduct(&ctx, req, &resp);
  });
  ASSERT_TRUE(marketplace.started().WaitForNotificationWithTimeout(absl::Seconds(60)))
      << "the service did not serve the call";
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  signalled.store(true);
  call.join();
  service.join();

  EXPECT_EQ(code, 0);
  EXPECT_THAT(call_status, IsOk()) << "the drain let the call finish";
  EXPECT_EQ(events.Get(), (std::vector<std::string>{"rpc answered", "hook second", "hook first"}));
  EXPECT_EQ(first_runs.load(), 1);
  EXPECT_EQ(second_runs.load(), 1);
  // In the hook the shared clients worked (the pool's own connection is one of those counted) ...
  EXPECT_THAT(pg_in_hook, IsOk());
  EXPECT_GE(open_in_hook, 1);
  EXPECT_THAT(redis_in_hook, IsOk());
  // ... and once RunService has returned the pool is gone: its connections are closed.
  auto observer = postgres::PgPool::Create({.dsn = pg->dsn(), .max_size = 1, .application_name = "observer"});
  ASSERT_THAT(observer, IsOk());
  absl::StatusOr<int64_t> open = OpenConnections(**observer, name);
  for (const absl::Time until = absl::Now() + absl::Seconds(10);
       open.ok() && *open != 0 && absl::Now() < until; open = OpenConnections(**observer, name)) {
    absl::SleepFor(absl::Milliseconds(20));  // the server notices a closed connection asynchronously
  }
  ASSERT_THAT(open, IsOk());
  EXPECT_EQ(*open, 0) << "the service's pool still has connections open after RunService returned";
}

// In a child process (death test): SIGTERM, then a hook that never returns within its 300 ms bound.
void RunWithAStuckHook() {
  static absl::Notification never;
  std::atomic<server::Server*> server{nullptr};
  std::thread signaller([&server] {
    while (server.load() == nullptr || !server.load()->serving()) absl::SleepFor(absl::Milliseconds(5));
    kill(getpid(), SIGTERM);
  });
  signaller.detach();
  const int code = RunWithFlags(PortFlags(), {.name = "hooks_stuck"}, [&server](ServiceContext& ctx) {
    ctx.AddShutdownHook("runs last", [] { logging::Info("the hook after the stuck one ran"); });
    ctx.AddShutdownHook(
        "stuck", [] { never.WaitForNotification(); }, absl::Milliseconds(300));
    server.store(&ctx.server());
    return absl::OkStatus();
  });
  std::fprintf(stderr, "RunService returned %d while a hook was still running\n", code);
  std::exit(3);
}

TEST(ShutdownHookDeathTest, AHookPastItsTimeoutIsAbandonedTheOthersRunAndTheProcessExits) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      RunWithAStuckHook(), ::testing::ExitedWithCode(0),
      "shutdown hook timed out; abandoned(.|\n)*\"hook\":\"stuck\"(.|\n)*the hook after the stuck one "
      "ran(.|\n)*a shutdown hook is still running; exiting without destroying the clients");
}

}  // namespace
}  // namespace marketlens::service
