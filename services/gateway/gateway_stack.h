// Everything the gateway runs, assembled from one options struct: the route table (from the fronted services'
// descriptors), backend channels, the transcoder, API keys, rate limits, the Redis response cache, backend
// health, metrics, the dashboard's files and the HTTP server, plus the in-process privacy service and its
// erasure driver (docs/privacy.md). main.cc and the HTTP tests both build the
// gateway through this, so the tests exercise exactly what production runs.
#ifndef MARKETLENS_SERVICES_GATEWAY_GATEWAY_STACK_H_
#define MARKETLENS_SERVICES_GATEWAY_GATEWAY_STACK_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/registry.h"
#include "services/gateway/api_keys.h"
#include "services/gateway/backend_health.h"
#include "services/gateway/erasure_driver.h"
#include "services/gateway/erasure_store.h"
#include "services/gateway/gateway.h"
#include "services/gateway/http_metrics.h"
#include "services/gateway/http_server.h"
#include "services/gateway/ingest_upload.h"
#include "services/gateway/privacy_service.h"
#include "services/gateway/response_cache.h"
#include "services/gateway/route_table.h"
#include "services/gateway/static_assets.h"
#include "services/gateway/transcoder.h"

namespace marketlens::gateway {

struct GatewayStackOptions {
  HttpServerOptions http;
  TranscoderOptions transcoder;
  GatewayOptions gateway;
  // Service full name -> "host:port" (or any gRPC target). Every fronted service with routes needs one.
  std::map<std::string, std::string> backends;
  // Responses of GatewayOptions::cached_methods are cached this long (needs Redis; 0: no cache).
  absl::Duration cache_ttl = absl::Seconds(30);
  ApiKeyStoreOptions api_keys;
  absl::Duration readiness_interval = absl::Seconds(2);
  // Registry of the HTTP metrics and the gRPC client metrics (null: the process registry).
  std::shared_ptr<prometheus::Registry> registry;
  // Non-empty: serve the dashboard from this directory instead of the files compiled in.
  std::string static_dir;
  // POST /api/v1/ingest (needs the collector backend); its body limit is http.upload_max_body_bytes.
  IngestUploadOptions uploads;
  // The privacy erasure jobs (erasure_driver.h; needs Postgres). false: jobs are created but only run by
  // another gateway replica (or a test calling erasure_driver()->RunOnce()).
  ErasureDriverOptions erasure;
  bool run_erasure_driver = true;
};

class GatewayStack {
 public:
  // `postgres` (API keys) may be null only when gateway.require_api_key is false; `redis` may be null (no
  // cache). Both must outlive the stack. Starts serving HTTP before returning.
  static absl::StatusOr<std::unique_ptr<GatewayStack>> Start(GatewayStackOptions options,
                                                             postgres::PgPool* postgres,
                                                             redis::RedisClient* redis);
  ~GatewayStack();

  // The services the gateway fronts: collector, analyzer, recommender (their generated descriptors).
  static std::vector<const google::protobuf::ServiceDescriptor*> FrontedServices();
  // The default admin-only RPCs and cached RPCs (full method names).
  static std::vector<std::string> DefaultAdminMethods();
  static std::vector<std::string> DefaultCachedMethods();

  int http_port() const { return http_->port(); }
  ApiKeyStore* api_keys() { return keys_.get(); }
  Gateway& gateway() { return *gateway_; }
  BackendHealth& health() { return *health_; }
  const RouteTable& routes() const { return routes_; }
  HttpServer& http() { return *http_; }
  // Null without Postgres.
  ErasureDriver* erasure_driver() { return erasure_driver_.get(); }
  ErasureStore* erasures() { return erasures_.get(); }

  // Stops accepting HTTP, drains requests in flight (bounded), stops the health checks. Idempotent.
  void Stop(absl::Duration drain);

 private:
  GatewayStack() = default;

  RouteTable routes_;
  std::unique_ptr<ErasureStore> erasures_;
  std::unique_ptr<ErasureDriver> erasure_driver_;
  std::unique_ptr<PrivacyServiceImpl> privacy_;
  std::unique_ptr<grpc::Server> privacy_server_;  // in-process only
  std::unique_ptr<Transcoder> transcoder_;
  std::unique_ptr<ApiKeyStore> keys_;
  std::unique_ptr<ResponseCache> cache_;
  std::unique_ptr<BackendHealth> health_;
  std::unique_ptr<HttpMetrics> metrics_;
  StaticAssets assets_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<HttpServer> http_;
  // Last: destroyed first, waiting for uploads in flight to answer through the gateway and server.
  std::unique_ptr<IngestUploader> uploads_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_GATEWAY_STACK_H_
