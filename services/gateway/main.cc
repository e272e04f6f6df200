// The gateway service: HTTP/1.1 + JSON on --http_port in front of the collector, analyzer and
// recommender (routes from their protos), with API keys, rate limits, CORS, a Redis cache of hot reads,
// /healthz, /readyz, /metrics, /openapi.json and the dashboard at /. Its gRPC port (50055) serves
// GatewayAdminService (API keys) and what every service has (health, reflection, metrics). The privacy
// erasure jobs and export (DELETE /api/v1/users/{id}, docs/privacy.md) run inside the gateway: an in-process
// PrivacyService and a driver that resumes pending jobs from Postgres at start.
//
// Shutdown on SIGTERM: the gRPC port drains as in every service (its health, which the Kubernetes probes ask,
// turns NOT_SERVING at once); then, in a shutdown hook (common/service), /readyz turns 503 while requests
// keep being served for --http_lame_duck (so load balancers notice), then HTTP stops accepting and drains
// for up to --drain_seconds, while Postgres and Redis (owned by RunService) are still there.
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/service/service_main.h"
#include "common/status/macros.h"
#include "marketlens/gateway/v1/gateway.grpc.pb.h"
#include "services/gateway/admin_service.h"
#include "services/gateway/gateway_stack.h"

ABSL_DECLARE_FLAG(int, drain_seconds);

ABSL_FLAG(int, http_port, 8080, "HTTP port of the REST API and the dashboard");
ABSL_FLAG(std::string, http_host, "0.0.0.0", "address HTTP binds to");
ABSL_FLAG(int, http_threads, 2, "threads serving HTTP (backend calls never block them)");
ABSL_FLAG(std::string, collector_address, "127.0.0.1:50052", "gRPC target of the collector");
ABSL_FLAG(std::string, analyzer_address, "127.0.0.1:50053", "gRPC target of the analyzer");
ABSL_FLAG(std::string, recommender_address, "127.0.0.1:50054", "gRPC target of the recommender");
ABSL_FLAG(int64_t, max_body_bytes, 1 << 20, "largest request body; larger ones get 413");
ABSL_FLAG(int64_t, max_upload_bytes, 64 << 20,
          "largest file POSTed to /api/v1/ingest (CSV or .xlsx); larger ones get 413");
ABSL_FLAG(int64_t, max_header_bytes, 16 << 10, "largest request header block; larger ones get 431");
ABSL_FLAG(absl::Duration, http_request_timeout, absl::Seconds(10),
          "a request must arrive completely within this time of its first byte (slow clients are cut off)");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(60),
          "idle keep-alive connections are closed after this");
ABSL_FLAG(absl::Duration, http_write_timeout, absl::Seconds(10), "a response must be taken within this");
ABSL_FLAG(int, http_max_connections, 4096, "connections past this are closed at once");
ABSL_FLAG(absl::Duration, http_lame_duck, absl::ZeroDuration(),
          "on SIGTERM, keep serving this long with /readyz failing before draining");
ABSL_FLAG(absl::Duration, backend_timeout, absl::Seconds(10),
          "deadline of a backend call unless the client sets one");
ABSL_FLAG(absl::Duration, max_backend_timeout, absl::Seconds(60), "cap of a client's Grpc-Timeout");
ABSL_FLAG(bool, require_api_key, true, "false: no API keys at all (local experiments only)");
ABSL_FLAG(std::string, anonymous_scope, "",
          "scope of requests without an API key: read, write, admin, or empty (a key is required)");
ABSL_FLAG(std::vector<std::string>, admin_methods, marketlens::gateway::GatewayStack::DefaultAdminMethods(),
          "RPCs (package.Service.Method) that need the admin scope");
ABSL_FLAG(double, rate_limit_per_second, 50,
          "default requests per second per API key (keys may have their own)");
ABSL_FLAG(double, rate_limit_burst_seconds, 2, "a key may burst this many seconds' worth of its rate");
ABSL_FLAG(std::vector<std::string>, cors_origins, {},
          "origins allowed to call the API from a browser (scheme://host[:port]), or *");
ABSL_FLAG(std::vector<std::string>, cache_methods, marketlens::gateway::GatewayStack::DefaultCachedMethods(),
          "RPCs whose GET responses are cached in Redis");
ABSL_FLAG(absl::Duration, cache_ttl, absl::Seconds(30),
          "lifetime of a cached response; 0 disables the cache");
ABSL_FLAG(
    absl::Duration, api_key_cache_ttl, absl::Seconds(30),
    "how long a checked API key is trusted without asking Postgres (bounds how late a revocation bites)");
ABSL_FLAG(absl::Duration, readiness_interval, absl::Seconds(2),
          "how often backend health is checked for /readyz");
ABSL_FLAG(std::string, static_dir, "",
          "serve the dashboard from this directory instead of the compiled-in files");
ABSL_FLAG(bool, access_log, true, "one JSON log line per HTTP request");

namespace {

using marketlens::gateway::GatewayStack;
using marketlens::gateway::GatewayStackOptions;

absl::Status Check(absl::string_view flag, bool ok, absl::string_view value, absl::string_view problem) {
  return ok ? absl::OkStatus() : marketlens::config::FlagError(flag, value, problem);
}

GatewayStackOptions OptionsFromFlags() {
  namespace config = marketlens::config;
  GatewayStackOptions o;
  o.http.host = absl::GetFlag(FLAGS_http_host);
  o.http.port = absl::GetFlag(FLAGS_http_port);
  o.http.threads = absl::GetFlag(FLAGS_http_threads);
  o.http.max_body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_body_bytes));
  o.http.upload_max_body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_upload_bytes));
  o.http.max_header_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_header_bytes));
  o.http.request_timeout = absl::GetFlag(FLAGS_http_request_timeout);
  o.http.idle_timeout = absl::GetFlag(FLAGS_http_idle_timeout);
  o.http.write_timeout = absl::GetFlag(FLAGS_http_write_timeout);
  o.http.max_connections = absl::GetFlag(FLAGS_http_max_connections);
  o.transcoder.default_timeout = absl::GetFlag(FLAGS_backend_timeout);
  o.transcoder.max_timeout = absl::GetFlag(FLAGS_max_backend_timeout);
  o.gateway.require_api_key = absl::GetFlag(FLAGS_require_api_key);
  o.gateway.rate_limit_per_second = absl::GetFlag(FLAGS_rate_limit_per_second);
  o.gateway.rate_limit_burst_seconds = absl::GetFlag(FLAGS_rate_limit_burst_seconds);
  o.gateway.cors.allowed_origins = absl::GetFlag(FLAGS_cors_origins);
  o.gateway.access_log = absl::GetFlag(FLAGS_access_log);
  for (const std::string& m : absl::GetFlag(FLAGS_admin_methods)) o.gateway.admin_methods.insert(m);
  for (const std::string& m : absl::GetFlag(FLAGS_cache_methods)) o.gateway.cached_methods.insert(m);
  o.backends = {{"marketlens.collector.v1.CollectorService", absl::GetFlag(FLAGS_collector_address)},
                {"marketlens.analyzer.v1.AnalyzerService", absl::GetFlag(FLAGS_analyzer_address)},
                {"marketlens.recommender.v1.RecommenderService", absl::GetFlag(FLAGS_recommender_address)}};
  o.cache_ttl = absl::GetFlag(FLAGS_cache_ttl);
  o.api_keys.cache_ttl = absl::GetFlag(FLAGS_api_key_cache_ttl);
  o.readiness_interval = absl::GetFlag(FLAGS_readiness_interval);
  o.static_dir = absl::GetFlag(FLAGS_static_dir);

  const std::string anonymous = absl::GetFlag(FLAGS_anonymous_scope);
  std::vector<absl::Status> checks = {
      config::ValidatePort("http_port", o.http.port, /*allow_zero=*/true),
      config::ValidateRange("http_threads", o.http.threads, 1, 64),
      config::ValidateGrpcTarget("collector_address", absl::GetFlag(FLAGS_collector_address)),
      config::ValidateGrpcTarget("analyzer_address", absl::GetFlag(FLAGS_analyzer_address)),
      config::ValidateGrpcTarget("recommender_address", absl::GetFlag(FLAGS_recommender_address)),
      config::ValidateRange("max_body_bytes", absl::GetFlag(FLAGS_max_body_bytes), int64_t{1},
                            int64_t{256} << 20),
      config::ValidateRange("max_header_bytes", absl::GetFlag(FLAGS_max_header_bytes), int64_t{1024},
                            int64_t{1} << 20),
      config::ValidatePositive("http_request_timeout", o.http.request_timeout),
      config::ValidatePositive("http_idle_timeout", o.http.idle_timeout),
      config::ValidatePositive("http_write_timeout", o.http.write_timeout),
      config::ValidatePositive("http_max_connections", o.http.max_connections),
      config::ValidateRange("http_lame_duck", absl::GetFlag(FLAGS_http_lame_duck), absl::ZeroDuration(),
                            absl::Minutes(5)),
      config::ValidatePositive("backend_timeout", o.transcoder.default_timeout),
      config::ValidatePositive("max_backend_timeout", o.transcoder.max_timeout),
      config::ValidatePositive("rate_limit_per_second", o.gateway.rate_limit_per_second),
      config::ValidatePositive("rate_limit_burst_seconds", o.gateway.rate_limit_burst_seconds),
      config::ValidateRange("cache_ttl", o.cache_ttl, absl::ZeroDuration(), absl::Hours(24)),
      config::ValidateRange("api_key_cache_ttl", o.api_keys.cache_ttl, absl::ZeroDuration(), absl::Hours(1)),
      config::ValidatePositive("readiness_interval", o.readiness_interval),
      Check("anonymous_scope", anonymous.empty() || marketlens::gateway::ParseScope(anonymous).ok(),
            anonymous, "must be read, write, admin or empty"),
  };
  for (const std::string& origin : o.gateway.cors.allowed_origins) {
    checks.push_back(
        Check("cors_origins",
              origin == "*" || absl::StartsWith(origin, "http://") || absl::StartsWith(origin, "https://"),
              origin, "each origin must be * or scheme://host[:port]"));
  }
  config::ExitOnInvalid(checks);
  if (!anonymous.empty()) o.gateway.anonymous_scope = *marketlens::gateway::ParseScope(anonymous);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<GatewayStack> stack;
  std::unique_ptr<marketlens::gateway::GatewayAdminServiceImpl> admin;
  const int code = marketlens::service::RunService(
      argc, argv,
      {.name = "gateway", .grpc_port = 50055, .metrics_port = 9105, .postgres = true, .redis = true},
      [&](marketlens::service::ServiceContext& ctx) -> absl::Status {
        GatewayStackOptions options = OptionsFromFlags();
        ASSIGN_OR_RETURN(std::unique_ptr<GatewayStack> started,
                         GatewayStack::Start(std::move(options), ctx.postgres(), ctx.redis()));
        stack = std::move(started);
        // The same store as the HTTP side, so a key revoked over gRPC stops working here at once.
        admin = std::make_unique<marketlens::gateway::GatewayAdminServiceImpl>(stack->api_keys());
        ctx.server().AddService(admin.get());
        // After the gRPC drain, before RunService destroys the clients the HTTP side uses. Bounded by the
        // lame duck and the HTTP drain, plus a margin for stopping the backend health checks.
        GatewayStack* s = stack.get();
        const absl::Duration lame_duck = absl::GetFlag(FLAGS_http_lame_duck);
        const absl::Duration drain = absl::Seconds(absl::GetFlag(FLAGS_drain_seconds));
        ctx.AddShutdownHook(
            "http",
            [s, lame_duck, drain] {
              s->gateway().SetDraining();
              if (lame_duck > absl::ZeroDuration()) {
                marketlens::logging::Info("lame duck: /readyz fails, still serving",
                                          {{"seconds", absl::ToDoubleSeconds(lame_duck)}});
                absl::SleepFor(lame_duck);
              }
              s->Stop(drain);
              marketlens::logging::Info("http drained");
            },
            lame_duck + drain + absl::Seconds(5));
        return absl::OkStatus();
      });
  if (stack != nullptr) stack->Stop(absl::ZeroDuration());
  return code;
}
