#include "services/gateway/response_cache.h"

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/migrate/sha256.h"

namespace marketlens::gateway {

namespace {
constexpr char kPrefix[] = "gateway:v1:";
}  // namespace

ResponseCache::ResponseCache(redis::RedisClient* redis, absl::Duration ttl)
    : redis_(redis), cache_(redis, {.prefix = absl::StrCat(kPrefix, "resp:")}), ttl_(ttl) {}

std::string ResponseCache::GenerationKey(absl::string_view service) {
  return absl::StrCat(kPrefix, "gen:", service);
}

ResponseCache::Lookup ResponseCache::Get(absl::string_view service, absl::string_view grpc_path,
                                         absl::string_view request_bytes, bool read) {
  Lookup out;
  absl::StatusOr<std::optional<std::string>> gen = redis_->Get(GenerationKey(service));
  if (!gen.ok()) return out;  // Redis unusable: bypass (and store nothing)
  const std::string digest = migrate::Sha256Hex(absl::StrCat(grpc_path, std::string(1, '\0'), request_bytes));
  out.key = absl::StrCat(service, ":", gen->value_or("0"), ":", digest);
  if (read) out.body = cache_.Get(out.key);
  return out;
}

void ResponseCache::Put(const std::string& key, absl::string_view body) {
  if (key.empty()) return;
  cache_.Put(key, body, ttl_);
}

void ResponseCache::Invalidate(absl::string_view service) {
  absl::StatusOr<int64_t> n = redis_->Incr(GenerationKey(service));
  if (!n.ok()) {
    logging::Warn("cannot invalidate cached responses; they expire within the cache TTL",
                  {{"service", std::string(service)}, {"error", n.status()}});
  }
}

}  // namespace marketlens::gateway
