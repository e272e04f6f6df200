#include "common/service/service_main.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/config/env.h"
#include "common/config/secret.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/metrics/exposer.h"
#include "common/server/signals.h"
#include "common/status/macros.h"
#include "prometheus/gauge.h"

// The flags every service has. A service's own defaults for the ports are set before parsing (see
// RunService), so `--help` shows 0 for them.
ABSL_FLAG(int, grpc_port, 0, "gRPC port (env MARKETLENS_GRPC_PORT)");
ABSL_FLAG(std::string, grpc_host, "0.0.0.0", "address gRPC binds to");
ABSL_FLAG(int, metrics_port, 0, "port of the Prometheus /metrics endpoint");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(int, drain_seconds, 10, "on SIGTERM, how long in-flight calls may take to finish");
ABSL_FLAG(std::string, pg_dsn, "host=127.0.0.1 port=55432 dbname=marketlens user=marketlens",
          "libpq connection string of the service's Postgres database (no password here)");
ABSL_FLAG(std::string, pg_password, "", "Postgres password (prefer MARKETLENS_PG_PASSWORD or the file)");
ABSL_FLAG(std::string, pg_password_file, "", "file holding the Postgres password (a mounted Secret)");
ABSL_FLAG(int, pg_pool_size, 8, "most Postgres connections open at once");
ABSL_FLAG(std::string, redis_address, "127.0.0.1:56379", "host:port of Redis");
ABSL_FLAG(std::string, redis_password, "", "Redis password (prefer MARKETLENS_REDIS_PASSWORD or the file)");
ABSL_FLAG(std::string, redis_password_file, "", "file holding the Redis password");

namespace marketlens::service {
namespace {

struct Config {
  int grpc_port;
  int metrics_port;
  std::string pg_password;
  std::string redis_host;
  int redis_port = 0;
  std::string redis_password;
};

// Validates every flag and collects all problems, so one restart shows them all.
Config LoadConfig(const ServiceSpec& spec) {
  Config c;
  c.grpc_port = absl::GetFlag(FLAGS_grpc_port);
  c.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  std::vector<absl::Status> checks = {
      config::ValidatePort("grpc_port", c.grpc_port),
      config::ValidatePort("metrics_port", c.metrics_port),
      c.grpc_port == c.metrics_port
          ? config::FlagError("metrics_port", absl::StrCat(c.metrics_port), "must differ from --grpc_port")
          : absl::OkStatus(),
      config::ValidateOneOf("log_level", absl::GetFlag(FLAGS_log_level),
                            {"debug", "info", "warning", "error"}),
      config::ValidateRange("drain_seconds", absl::GetFlag(FLAGS_drain_seconds), 0, 3600),
  };
  if (spec.postgres) {
    checks.push_back(config::ValidateNonEmpty("pg_dsn", absl::GetFlag(FLAGS_pg_dsn)));
    checks.push_back(config::ValidateRange("pg_pool_size", absl::GetFlag(FLAGS_pg_pool_size), 1, 256));
    auto password = config::ReadSecret(absl::GetFlag(FLAGS_pg_password),
                                       absl::GetFlag(FLAGS_pg_password_file), "pg_password");
    if (password.ok()) {
      c.pg_password = *password;
    } else {
      checks.push_back(password.status());
    }
  }
  if (spec.redis) {
    const std::string address = absl::GetFlag(FLAGS_redis_address);
    absl::Status valid = config::ValidateHostPort("redis_address", address);
    checks.push_back(valid);
    if (valid.ok()) {
      const size_t colon = address.rfind(':');
      c.redis_host = address.substr(0, colon);
      if (c.redis_host.size() > 2 && c.redis_host.front() == '[') {
        c.redis_host = c.redis_host.substr(1, c.redis_host.size() - 2);
      }
      (void)absl::SimpleAtoi(address.substr(colon + 1), &c.redis_port);
    }
    auto password = config::ReadSecret(absl::GetFlag(FLAGS_redis_password),
                                       absl::GetFlag(FLAGS_redis_password_file), "redis_password");
    if (password.ok()) {
      c.redis_password = *password;
    } else {
      checks.push_back(password.status());
    }
  }
  config::ExitOnInvalid(checks);
  return c;
}

}  // namespace

ServiceContext::~ServiceContext() {
  if (!RunShutdownHooks()) {
    // An abandoned hook may still be using them: never destroy the clients under it.
    (void)pg_.release();
    (void)redis_.release();
  }
}

void ServiceContext::AddShutdownHook(std::string name, std::function<void()> hook, absl::Duration timeout) {
  {
    absl::MutexLock lock(&hooks_mu_);
    if (!hooks_started_) {
      hooks_.push_back({std::move(name), std::move(hook), timeout});
      return;
    }
  }
  logging::Warn("shutdown hook added while the hooks run; running it at once", {{"hook", name}});
  hook();
}

bool ServiceContext::RunShutdownHooks() {
  std::vector<ShutdownHook> hooks;
  {
    absl::MutexLock lock(&hooks_mu_);
    if (hooks_started_) return hooks_finished_;
    hooks_started_ = true;
    hooks.swap(hooks_);
  }
  bool all_finished = true;
  for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) {
    const absl::Time start = absl::Now();
    // The thread owns the function: if the hook is abandoned, what it captured stays alive with it.
    auto done = std::make_shared<absl::Notification>();
    std::thread thread([fn = std::move(it->fn), done] {
      fn();
      done->Notify();
    });
    if (done->WaitForNotificationWithTimeout(it->timeout)) {
      thread.join();
      logging::Info("shutdown hook done",
                    {{"hook", it->name}, {"elapsed_ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
    } else {
      thread.detach();
      all_finished = false;
      logging::Error("shutdown hook timed out; abandoned",
                     {{"hook", it->name}, {"timeout_ms", absl::ToInt64Milliseconds(it->timeout)}});
    }
  }
  absl::MutexLock lock(&hooks_mu_);
  hooks_finished_ = all_finished;
  return all_finished;
}

void ServiceContext::OnStopRequested(std::function<void()> request_stop) {
  server::internal::AddSignalListener([fn = std::move(request_stop)](int) { fn(); });
}

int RunService(int argc, char** argv, const ServiceSpec& spec,
               const std::function<absl::Status(ServiceContext&)>& setup) {
  // Debian's Abseil is built with mutex deadlock detection on, which costs every Mutex acquisition a
  // graph update on the request path; the services' locking is covered by their tests instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Before any thread starts, so that every thread inherits the blocked shutdown signals.
  server::InstallShutdownSignalHandling();
  absl::SetFlag(&FLAGS_grpc_port, spec.grpc_port);
  absl::SetFlag(&FLAGS_metrics_port, spec.metrics_port);
  config::ParseFlagsAndEnv(argc, argv);
  const Config cfg = LoadConfig(spec);

  logging::SetServiceName(spec.name);
  (void)logging::SetMinLevelFromString(absl::GetFlag(FLAGS_log_level));

  std::unique_ptr<postgres::PgPool> pg;
  if (spec.postgres) {
    // libpq takes the password from its environment, so it never appears in a connection string or log.
    if (!cfg.pg_password.empty()) setenv("PGPASSWORD", cfg.pg_password.c_str(), 1);
    auto pool = postgres::PgPool::Create({.dsn = absl::GetFlag(FLAGS_pg_dsn),
                                          .max_size = absl::GetFlag(FLAGS_pg_pool_size),
                                          .application_name = spec.name});
    if (!pool.ok()) {
      logging::Error("invalid Postgres settings", {{"error", pool.status()}});
      return 1;
    }
    pg = std::move(*pool);
  }
  std::unique_ptr<redis::RedisClient> redis;
  if (spec.redis) {
    redis::RedisOptions options;
    options.host = cfg.redis_host;
    options.port = cfg.redis_port;
    options.password = cfg.redis_password;
    options.name = spec.name;
    redis = std::make_unique<redis::RedisClient>(options);
  }

  const std::string host = absl::GetFlag(FLAGS_grpc_host);
  server::Server server({.service_name = spec.name,
                         .grpc_address = absl::StrCat(host, ":", cfg.grpc_port),
                         .metrics_address = absl::StrCat(host, ":", cfg.metrics_port),
                         .drain_timeout = absl::Seconds(absl::GetFlag(FLAGS_drain_seconds))});
  ServiceContext context(spec, &server, std::move(pg), std::move(redis));
  // Every return from here on runs the shutdown hooks first (once; see AddShutdownHook). When one overran
  // its bound, nothing is destroyed under it: the process ends here.
  const auto finish = [&context](int code) {
    if (!context.RunShutdownHooks()) {
      logging::Error("a shutdown hook is still running; exiting without destroying the clients",
                     {{"exit_code", code}});
      std::fflush(stderr);
      std::_Exit(code);
    }
    return code;
  };
  if (absl::Status st = setup(context); !st.ok()) {
    logging::Error("service setup failed", {{"error", st}});
    return finish(1);
  }
  // marketlens_dependency_up{dependency}: 1 while a dependency answers, for alerts (Postgres / Redis down).
  auto& dependency_up = prometheus::BuildGauge()
                            .Name("marketlens_dependency_up")
                            .Help("1 while the dependency answered the last readiness check, else 0")
                            .Register(*metrics::DefaultRegistry());
  prometheus::Gauge* postgres_up =
      context.postgres() != nullptr ? &dependency_up.Add({{"dependency", "postgres"}}) : nullptr;
  prometheus::Gauge* redis_up =
      context.redis() != nullptr ? &dependency_up.Add({{"dependency", "redis"}}) : nullptr;
  server.SetReadinessCheck([&context, postgres_up, redis_up]() -> absl::Status {
    // Redis is not a readiness condition (the service degrades to cache misses), only a signal.
    if (redis_up != nullptr) redis_up->Set(context.redis()->Ping().ok() ? 1 : 0);
    if (context.postgres() != nullptr) {
      absl::Status st = context.postgres()->Ping(absl::Seconds(1));
      postgres_up->Set(st.ok() ? 1 : 0);
      if (!st.ok()) return absl::UnavailableError(absl::StrCat("postgres: ", st.message()));
    }
    for (const auto& check : context.readiness_checks()) {
      RETURN_IF_ERROR(check());
    }
    return absl::OkStatus();
  });
  if (absl::Status st = server.Start(); !st.ok()) {
    logging::Error("cannot start", {{"error", st}});
    return finish(1);
  }
  const int signal = server.WaitForShutdownSignal();  // returns once drained
  const int code = finish(0);
  logging::Info("stopped", {{"signal", signal}});
  return code;
}

}  // namespace marketlens::service
