// The gateway's request handling: what happens to every HTTP request between the server (http_server.h)
// and the backends (transcoder.h).
//
//   OPTIONS preflight          -> CORS answer
//   GET /healthz               -> 200 while the process runs
//   GET /readyz                -> 200 when every backend (and Postgres) is healthy, else 503, with details
//   GET /metrics               -> Prometheus text (the process registry)
//   GET /openapi.json          -> the OpenAPI document generated from the protos
//   /api/...                   -> route (404 / 405) -> content type (415) -> API key (401 / 403 / 503)
//                                 -> per-key rate limit (429 + Retry-After) -> bind (400) -> Redis cache
//                                 (cached GETs) -> backend call (status mapped from the gRPC code)
//   POST /api/v1/ingest        -> content type (415) -> API key (write) -> rate limit -> the collector's
//                                 IngestFile with the uploaded file (ingest_upload.h; 413 from the server)
//   GET anything else          -> the dashboard's files ("/" is index.html), else 404
//
// Every response carries X-Request-Id (the client's, when valid, else a new one; also sent to the backend),
// CORS headers for allowed origins, and is counted (http_metrics.h) and access-logged as one JSON line.
//
// Scopes: GET needs read, other methods write, the RPCs listed in admin_methods admin. API keys come in
// "Authorization: Bearer <key>" or "X-Api-Key: <key>".
#ifndef MARKETLENS_SERVICES_GATEWAY_GATEWAY_H_
#define MARKETLENS_SERVICES_GATEWAY_GATEWAY_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/gateway/api_keys.h"
#include "services/gateway/backend_health.h"
#include "services/gateway/cors.h"
#include "services/gateway/http_metrics.h"
#include "services/gateway/http_server.h"
#include "services/gateway/ingest_upload.h"
#include "services/gateway/rate_limiter.h"
#include "services/gateway/response_cache.h"
#include "services/gateway/route_table.h"
#include "services/gateway/static_assets.h"
#include "services/gateway/transcoder.h"

namespace marketlens::gateway {

struct GatewayOptions {
  // false: no API key is asked for (every request may do anything). For local experiments only.
  bool require_api_key = true;
  // Requests without any key get this scope (e.g. read, for a dashboard on a trusted network); nullopt: a
  // key is required.
  std::optional<Scope> anonymous_scope;
  // RPCs ("marketlens.recommender.v1.RecommenderService.PromoteModel") that need the admin scope.
  absl::flat_hash_set<std::string> admin_methods;
  // Default per-key rate (keys may have their own) and bucket depth in seconds of that rate.
  double rate_limit_per_second = 50;
  double rate_limit_burst_seconds = 2;
  CorsOptions cors;
  // RPCs whose GET responses are cached in Redis (response_cache.h).
  absl::flat_hash_set<std::string> cached_methods;
  // RPCs answered 202 Accepted instead of 200 (they start work that completes later).
  absl::flat_hash_set<std::string> accepted_methods = {"marketlens.privacy.v1.PrivacyService.RequestErasure"};
  // One JSON log line per request.
  bool access_log = true;
};

// Looks up an API key (ApiKeyStore::Authenticate in production).
using Authenticator = std::function<absl::StatusOr<ApiKey>(absl::string_view key)>;

struct GatewayDeps {
  const RouteTable* routes = nullptr;
  Transcoder* transcoder = nullptr;
  Authenticator authenticate;                  // required when options.require_api_key
  HttpMetrics* metrics = nullptr;              // required
  ResponseCache* cache = nullptr;              // optional
  BackendHealth* health = nullptr;             // optional: /readyz is then always ready
  const StaticAssets* assets = nullptr;        // optional
  IngestUploader* uploads = nullptr;           // optional: POST /api/v1/ingest (ingest_upload.h)
  retry::Clock* clock = retry::Clock::Real();  // for the rate limiter
};

class Gateway {
 public:
  Gateway(GatewayOptions options, GatewayDeps deps);

  // The HttpHandler.
  void Handle(HttpRequest request, Responder respond);
  // HttpServerOptions::on_protocol_error.
  void OnProtocolError(int status, absl::string_view reason, absl::string_view remote);

  Scope RequiredScope(const Route& route) const;
  // From now on /readyz answers 503 ("draining"), so that load balancers move traffic away before the
  // server stops accepting (the lame-duck period of a graceful shutdown).
  void SetDraining() { draining_.store(true); }
  const std::string& openapi_json() const { return openapi_json_; }

 private:
  struct Context;
  void HandleApi(const std::shared_ptr<Context>& ctx, HttpRequest& request);
  bool AnswerFromCache(const std::shared_ptr<Context>& ctx, const HttpRequest& request,
                       const PreparedCall& call, std::optional<std::string>* cache_key);
  void CallBackend(const std::shared_ptr<Context>& ctx, const HttpRequest& request,
                   std::shared_ptr<PreparedCall> call, absl::Duration timeout,
                   std::optional<std::string> cache_key);
  void HandleIngestUpload(const std::shared_ptr<Context>& ctx, HttpRequest request);
  // The API key's scope and the per-key rate limit; the error to answer, if refused.
  std::optional<ApiError> Admit(const std::shared_ptr<Context>& ctx, const HttpRequest& request,
                                Scope required, const std::string& label);
  void HandleBuiltin(const std::shared_ptr<Context>& ctx, const HttpRequest& request);
  void Finish(const std::shared_ptr<Context>& ctx, HttpResponse response);
  void FinishError(const std::shared_ptr<Context>& ctx, const ApiError& error);

  const GatewayOptions options_;
  const GatewayDeps deps_;
  const Cors cors_;
  PerKeyRateLimiter limiter_;
  std::string openapi_json_;
  std::atomic<bool> draining_{false};
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_GATEWAY_H_
