// What every service's main() shares, so that each main.cc stays a few lines: the common flags (ports, log
// level, Postgres, Redis, drain), configuration from flags + MARKETLENS_* environment with validation, JSON
// logging, the Postgres pool and Redis client when the service uses them, and the gRPC server bootstrap
// (health, reflection, metrics, request ids, graceful shutdown on SIGTERM), and shutdown hooks that stop a
// service's background work after the drain and before the shared clients go.
//
//   int main(int argc, char** argv) {
//     return marketlens::service::RunService(argc, argv,
//         {.name = "collector", .grpc_port = 50052, .metrics_port = 9102, .postgres = true, .redis = true},
//         [](marketlens::service::ServiceContext& ctx) -> absl::Status {
//           static CollectorServiceImpl impl(ctx.postgres());
//           ctx.server().AddService(&impl);
//           static Crawler crawler(ctx.postgres(), ctx.redis());
//           crawler.Start();
//           ctx.AddShutdownHook("crawler", [] { crawler.Stop(); });
//           return absl::OkStatus();
//         });
//   }
#ifndef MARKETLENS_COMMON_SERVICE_SERVICE_MAIN_H_
#define MARKETLENS_COMMON_SERVICE_SERVICE_MAIN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/server/server.h"

namespace marketlens::service {

struct ServiceSpec {
  std::string name;       // "collector": logs, metrics, application_name
  int grpc_port = 0;      // default of --grpc_port
  int metrics_port = 0;   // default of --metrics_port
  bool postgres = false;  // connect a pool from --pg_dsn; readiness waits for Postgres
  bool redis = false;     // make a Redis client from --redis_address (the service works without Redis)
};

// How long one shutdown hook may run unless it says otherwise (ServiceContext::AddShutdownHook).
inline constexpr absl::Duration kDefaultShutdownHookTimeout = absl::Seconds(5);

class ServiceContext {
 public:
  ServiceContext(const ServiceSpec& spec, server::Server* server, std::unique_ptr<postgres::PgPool> pg,
                 std::unique_ptr<redis::RedisClient> redis)
      : spec_(spec), server_(server), pg_(std::move(pg)), redis_(std::move(redis)) {}
  // Runs the shutdown hooks if they have not run yet, then destroys the clients (or, when a hook overran
  // its bound, leaves them alone: see AddShutdownHook).
  ~ServiceContext();
  ServiceContext(const ServiceContext&) = delete;
  ServiceContext& operator=(const ServiceContext&) = delete;

  const ServiceSpec& spec() const { return spec_; }
  server::Server& server() { return *server_; }
  // Null unless the spec asks for it. They live until the shutdown hooks have run, so background work that
  // uses them needs no clients of its own: stop it in a shutdown hook.
  postgres::PgPool* postgres() { return pg_.get(); }
  redis::RedisClient* redis() { return redis_.get(); }
  // Extra readiness conditions (all must pass), added by setup.
  void AddReadinessCheck(std::function<absl::Status()> check) { checks_.push_back(std::move(check)); }
  const std::vector<std::function<absl::Status()>>& readiness_checks() const { return checks_; }

  // Registers `hook` (`name` is for the logs) to run when the service stops. What RunService guarantees:
  // - Order: on SIGTERM/SIGINT (or Server::Shutdown()) the gRPC server drains first — health NOT_SERVING,
  //   no RPC in flight, none accepted any more — then the hooks run one at a time, the last registered
  //   first, and only then are postgres() and redis() destroyed. So a hook may use them, and what it
  //   stops (threads started in setup) can use them up to its last step.
  // - Once: each hook runs exactly once. They also run when start-up fails after setup began (setup
  //   returned an error, or the server could not start), so threads setup started are stopped either way.
  // - Bounded: each hook runs on a thread of its own for at most `timeout`. A hook still running then is
  //   abandoned (logged as "shutdown hook timed out"); the remaining hooks still run, and then, since the
  //   abandoned one may still use the clients, RunService destroys nothing and ends the process at once
  //   with std::_Exit(the exit code it would have returned) instead of returning. Shutdown thus takes at
  //   most --drain_seconds plus the sum of the hooks' timeouts: keep that under the pod's
  //   terminationGracePeriodSeconds (30 s in k8s/base, with --drain_seconds=10).
  // A hook must not call Server::Shutdown() or wait for the gRPC server. Thread-safe; a hook added once the
  // hooks have begun to run (from a hook, or a thread the hooks are stopping) runs at once on the caller's
  // thread.
  void AddShutdownHook(std::string name, std::function<void()> hook,
                       absl::Duration timeout = kDefaultShutdownHookTimeout);
  // Registers `request_stop` to run as soon as SIGTERM/SIGINT arrives, while the gRPC server is still
  // draining: for background work that takes a while to wind down (a training run), so that it starts
  // stopping at once instead of after the drain. It must not block (set a flag); the work is still joined
  // in a shutdown hook. Called at once when the signal already arrived.
  void OnStopRequested(std::function<void()> request_stop);

  // Runs the shutdown hooks as described above (RunService calls it; later calls do nothing). Returns
  // false when a hook overran its timeout and may still be running.
  bool RunShutdownHooks();

 private:
  struct ShutdownHook {
    std::string name;
    std::function<void()> fn;
    absl::Duration timeout;
  };

  ServiceSpec spec_;
  server::Server* server_;
  std::unique_ptr<postgres::PgPool> pg_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::vector<std::function<absl::Status()>> checks_;

  absl::Mutex hooks_mu_;
  std::vector<ShutdownHook> hooks_ ABSL_GUARDED_BY(hooks_mu_);
  bool hooks_started_ ABSL_GUARDED_BY(hooks_mu_) = false;
  bool hooks_finished_ ABSL_GUARDED_BY(hooks_mu_) = true;  // false once a hook overran its timeout
};

// Parses and validates the configuration (exit 2 on a bad value), connects, calls `setup` to add the
// service implementations, starts serving and blocks until SIGTERM/SIGINT; then drains, runs the shutdown
// hooks, destroys the clients and returns the exit code (0 after a clean shutdown, 1 when start-up failed).
int RunService(int argc, char** argv, const ServiceSpec& spec,
               const std::function<absl::Status(ServiceContext&)>& setup);

}  // namespace marketlens::service

#endif  // MARKETLENS_COMMON_SERVICE_SERVICE_MAIN_H_
