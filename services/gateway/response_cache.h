// Redis cache of hot read responses (the product list, alerts, top performers, ...), so that the dashboard's
// most frequent reads do not reach the analyzer every time.
//
// Keys: "gateway:v1:resp:<service>:<generation>:<sha256 of method + serialized request>". Keying on the
// request message (not the URL) means "?page_size=10" and "?pageSize=10" share an entry.
// Invalidation: each backend service has a generation counter, "gateway:v1:gen:<service full name>". Bumping
// it (INCR) makes every cached response of that service unreachable at once (old entries just expire).
// The gateway bumps it after every successful write (non-GET) through it to that service; a backend whose
// data changes by other means (the analyzer after a batch of reviews) can INCR the same key itself.
// Every entry also expires after `ttl`, the bound on staleness for changes nobody announces.
//
// Best effort: any Redis failure is a miss and nothing is stored (common/redis/cache.h), so the gateway
// keeps answering, only slower, while Redis is down.
#ifndef MARKETLENS_SERVICES_GATEWAY_RESPONSE_CACHE_H_
#define MARKETLENS_SERVICES_GATEWAY_RESPONSE_CACHE_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis/cache.h"
#include "common/redis/client.h"

namespace marketlens::gateway {

class ResponseCache {
 public:
  // `redis` must outlive the cache.
  ResponseCache(redis::RedisClient* redis, absl::Duration ttl);

  struct Lookup {
    std::optional<std::string> body;  // a hit
    std::string key;                  // where to Put() after a miss; "" when Redis is unusable (don't store)
  };
  // read = false only computes the key (a forced refresh: the caller stores the fresh response there).
  Lookup Get(absl::string_view service, absl::string_view grpc_path, absl::string_view request_bytes,
             bool read = true);
  void Put(const std::string& key, absl::string_view body);
  // Bumps the service's generation.
  void Invalidate(absl::string_view service);

  static std::string GenerationKey(absl::string_view service);

 private:
  redis::RedisClient* const redis_;
  redis::Cache cache_;
  const absl::Duration ttl_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_RESPONSE_CACHE_H_
