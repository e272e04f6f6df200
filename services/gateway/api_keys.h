// API keys of the REST gateway, kept in Postgres (gateway.api_keys, deploy/migrations/0030_*.sql).
//
// A key looks like "mlk_3f9a0c1d2e4b_<40 hex>": a public id (in logs and metrics) and a secret. It is shown
// once, when created; only the SHA-256 of the whole key is stored, and a request's key is looked up by its
// hash. Scopes are ordered: read < write < admin, and a key is allowed whatever its highest scope implies
// (a write key may also read). Each key may have its own rate limit (0: the gateway's default).
//
// Authenticate() is on every request's path, so results are cached in memory for `cache_ttl` (unknown keys
// for `negative_ttl`, so a flood of bad keys cannot hammer Postgres). A revocation is therefore seen by the
// other gateway replicas within cache_ttl; the replica that revoked sees it at once.
#ifndef MARKETLENS_SERVICES_GATEWAY_API_KEYS_H_
#define MARKETLENS_SERVICES_GATEWAY_API_KEYS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"

namespace marketlens::gateway {

enum class Scope { kRead = 1, kWrite = 2, kAdmin = 3 };

// "read", "write", "admin" (case-insensitive); INVALID_ARGUMENT otherwise.
absl::StatusOr<Scope> ParseScope(absl::string_view name);
const char* ScopeName(Scope scope);
// "read,write" -> {kRead, kWrite}; INVALID_ARGUMENT on an unknown or empty list.
absl::StatusOr<std::vector<Scope>> ParseScopes(absl::string_view comma_separated);

struct ApiKey {
  std::string id;
  std::string name;
  std::vector<Scope> scopes;
  int rate_limit_per_second = 0;  // 0: the gateway's default
  absl::Time created_at;
  std::optional<absl::Time> revoked_at;

  // Whether the key's highest scope is at least `required`.
  bool Allows(Scope required) const;
};

struct NewApiKey {
  ApiKey key;
  std::string secret;  // the whole key, "mlk_<id>_<secret>"; never stored
};

struct ApiKeyStoreOptions {
  absl::Duration cache_ttl = absl::Seconds(30);
  absl::Duration negative_ttl = absl::Seconds(5);
  size_t max_cached = 100000;  // the cache is emptied when it grows past this
  absl::Duration query_timeout = absl::Seconds(2);
  // How often a key's last_used_at is written at most.
  absl::Duration last_used_interval = absl::Minutes(1);
};

class ApiKeyStore {
 public:
  // `pool` must outlive the store and have the gateway schema (migration 0030).
  explicit ApiKeyStore(postgres::PgPool* pool, ApiKeyStoreOptions options = {});

  // INVALID_ARGUMENT for an empty name, no scopes or a negative rate.
  absl::StatusOr<NewApiKey> Create(absl::string_view name, const std::vector<Scope>& scopes,
                                   int rate_limit_per_second = 0);
  // Newest first.
  absl::StatusOr<std::vector<ApiKey>> List(bool include_revoked = true);
  // NOT_FOUND for an unknown id; revoking again keeps the first revocation time.
  absl::StatusOr<ApiKey> Revoke(absl::string_view id);

  // The key's record. UNAUTHENTICATED for a malformed, unknown or revoked key (the message says which, but
  // never echoes the key); UNAVAILABLE / DEADLINE_EXCEEDED when Postgres cannot answer.
  absl::StatusOr<ApiKey> Authenticate(absl::string_view key);

  // Lowercase hex SHA-256 of the whole key.
  static std::string HashKey(absl::string_view key);
  // Whether `key` has the shape of a key this store makes (checked before any lookup).
  static bool LooksLikeKey(absl::string_view key);

 private:
  struct Cached {
    std::optional<ApiKey> key;  // nullopt: unknown or revoked
    std::string reason;         // why, when nullopt
    absl::Time expires;
  };
  void Remember(const std::string& hash, Cached entry) ABSL_LOCKS_EXCLUDED(mu_);
  void TouchLastUsed(const ApiKey& key) ABSL_LOCKS_EXCLUDED(mu_);

  postgres::PgPool* const pool_;
  const ApiKeyStoreOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> last_used_written_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_API_KEYS_H_
