// Cache: a thin best-effort layer over RedisClient for data that can always be recomputed (analysis
// results by content hash, hot recommendation lists). ANY Redis failure is a miss (Get) or a no-op
// (Put/Invalidate): a service keeps answering, only slower, while Redis is down. Failures are counted and
// logged at most once per `log_interval`, so an outage produces a few log lines, not one per request.
// Keys are namespaced by `prefix` (used verbatim: include a separator, e.g. "analyzer:v3:").
//
//   Cache cache(&redis, {.prefix = "recs:v1:"});
//   if (auto hit = cache.Get(user_id)) return *hit;
//   std::string value = Compute();
//   cache.Put(user_id, value, absl::Minutes(10));
#ifndef MARKETLENS_COMMON_REDIS_CACHE_H_
#define MARKETLENS_COMMON_REDIS_CACHE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis/client.h"

namespace marketlens::redis {

struct CacheOptions {
  std::string prefix;
  absl::Duration log_interval = absl::Seconds(30);
};

class Cache {
 public:
  // `client` is not owned and must outlive the cache; several caches may share one client.
  Cache(RedisClient* client, CacheOptions options);

  // The value, or nullopt on a miss or any Redis failure.
  std::optional<std::string> Get(absl::string_view key);
  // Stores with a TTL (every cache entry expires; InfiniteDuration() means no expiry). ttl <= 0: nothing
  // is stored.
  void Put(absl::string_view key, absl::string_view value, absl::Duration ttl);
  // Removes one key.
  void Invalidate(absl::string_view key);
  // Removes every key of this cache that starts with `key_prefix` ("" = all of this cache's keys), with
  // SCAN MATCH + UNLINK in batches: O(keys in the database), meant for rare invalidations (a model
  // promotion, a new prompt version), not per request. Returns how many keys were removed (on a Redis
  // failure, those removed before it).
  int64_t InvalidatePrefix(absl::string_view key_prefix);

  const std::string& prefix() const { return options_.prefix; }

  struct Stats {
    int64_t hits = 0;
    int64_t misses = 0;  // Includes the Gets that failed.
    int64_t errors = 0;  // Redis failures of any operation, swallowed.
  };
  Stats stats() const;

 private:
  std::string FullKey(absl::string_view key) const;
  void RecordError(absl::string_view op, const absl::Status& status);

  RedisClient* const client_;
  const CacheOptions options_;
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> last_log_ns_{0};         // absl::Now() in ns at the last error log.
  std::atomic<int64_t> errors_at_last_log_{0};  // errors_ then, for "N more since".
};

// Escapes Redis glob characters (* ? [ ] \) so that `text` matches itself in SCAN MATCH / KEYS.
std::string EscapeGlob(absl::string_view text);

}  // namespace marketlens::redis

#endif  // MARKETLENS_COMMON_REDIS_CACHE_H_
