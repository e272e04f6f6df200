// What every service's main() shares, so that each main.cc stays a few lines: the common flags (ports, log
// level, Postgres, Redis, drain), configuration from flags + MARKETLENS_* environment with validation, JSON
// logging, the Postgres pool and Redis client when the service uses them, and the gRPC server bootstrap
// (health, reflection, metrics, request ids, graceful shutdown on SIGTERM).
//
//   int main(int argc, char** argv) {
//     return marketlens::service::RunService(argc, argv,
//         {.name = "collector", .grpc_port = 50052, .metrics_port = 9102, .postgres = true, .redis = true},
//         [](marketlens::service::ServiceContext& ctx) -> absl::Status {
//           static CollectorServiceImpl impl(ctx.postgres());
//           ctx.server().AddService(&impl);
//           return absl::OkStatus();
//         });
//   }
#ifndef MARKETLENS_COMMON_SERVICE_SERVICE_MAIN_H_
#define MARKETLENS_COMMON_SERVICE_SERVICE_MAIN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
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

class ServiceContext {
 public:
  ServiceContext(const ServiceSpec& spec, server::Server* server, std::unique_ptr<postgres::PgPool> pg,
                 std::unique_ptr<redis::RedisClient> redis)
      : spec_(spec), server_(server), pg_(std::move(pg)), redis_(std::move(redis)) {}

  const ServiceSpec& spec() const { return spec_; }
  server::Server& server() { return *server_; }
  // Null unless the spec asks for it.
  postgres::PgPool* postgres() { return pg_.get(); }
  redis::RedisClient* redis() { return redis_.get(); }
  // Extra readiness conditions (all must pass), added by setup.
  void AddReadinessCheck(std::function<absl::Status()> check) { checks_.push_back(std::move(check)); }
  const std::vector<std::function<absl::Status()>>& readiness_checks() const { return checks_; }

 private:
  ServiceSpec spec_;
  server::Server* server_;
  std::unique_ptr<postgres::PgPool> pg_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::vector<std::function<absl::Status()>> checks_;
};

// Parses and validates the configuration (exit 2 on a bad value), connects, calls `setup` to add the
// service implementations, starts serving and blocks until SIGTERM/SIGINT; then drains and returns the exit
// code (0 after a clean shutdown, 1 when start-up failed).
int RunService(int argc, char** argv, const ServiceSpec& spec,
               const std::function<absl::Status(ServiceContext&)>& setup);

}  // namespace marketlens::service

#endif  // MARKETLENS_COMMON_SERVICE_SERVICE_MAIN_H_
