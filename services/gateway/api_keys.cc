#include "services/gateway/api_keys.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging/log.h"
#include "common/migrate/sha256.h"
#include "common/status/macros.h"

namespace marketlens::gateway {
namespace {

constexpr absl::string_view kPrefix = "mlk_";
constexpr size_t kIdHex = 12;
constexpr size_t kSecretHex = 40;

absl::StatusOr<std::string> RandomHex(size_t hex_chars) {
  std::string bytes(hex_chars / 2, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError("getrandom failed");
    }
    got += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(bytes);
}

bool IsLowerHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

constexpr char kColumns[] =
    "id, name, array_to_string(scopes, ','), rate_limit_per_second, "
    "(extract(epoch from created_at) * 1000000)::bigint, "
    "(extract(epoch from revoked_at) * 1000000)::bigint";

ApiKey FromRow(const pqxx::row& row) {
  ApiKey k;
  k.id = row[0].as<std::string>();
  k.name = row[1].as<std::string>();
  for (absl::string_view s : absl::StrSplit(row[2].as<std::string>(), ',', absl::SkipEmpty())) {
    if (auto scope = ParseScope(s); scope.ok()) k.scopes.push_back(*scope);
  }
  k.rate_limit_per_second = row[3].as<int>();
  k.created_at = absl::FromUnixMicros(row[4].as<int64_t>());
  if (!row[5].is_null()) k.revoked_at = absl::FromUnixMicros(row[5].as<int64_t>());
  return k;
}

}  // namespace

absl::StatusOr<Scope> ParseScope(absl::string_view name) {
  const std::string n = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  if (n == "read") return Scope::kRead;
  if (n == "write") return Scope::kWrite;
  if (n == "admin") return Scope::kAdmin;
  return absl::InvalidArgumentError(absl::StrCat("unknown scope \"", name, "\" (read, write or admin)"));
}

const char* ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead:
      return "read";
    case Scope::kWrite:
      return "write";
    case Scope::kAdmin:
      return "admin";
  }
  return "unknown";
}

absl::StatusOr<std::vector<Scope>> ParseScopes(absl::string_view comma_separated) {
  std::vector<Scope> out;
  for (absl::string_view part : absl::StrSplit(comma_separated, ',', absl::SkipWhitespace())) {
    ASSIGN_OR_RETURN(Scope s, ParseScope(part));
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  if (out.empty()) return absl::InvalidArgumentError("no scopes given (read, write or admin)");
  return out;
}

bool ApiKey::Allows(Scope required) const {
  for (Scope s : scopes) {
    if (static_cast<int>(s) >= static_cast<int>(required)) return true;
  }
  return false;
}

ApiKeyStore::ApiKeyStore(postgres::PgPool* pool, ApiKeyStoreOptions options)
    : pool_(pool), options_(options) {}

std::string ApiKeyStore::HashKey(absl::string_view key) { return migrate::Sha256Hex(key); }

bool ApiKeyStore::LooksLikeKey(absl::string_view key) {
  if (key.size() != kPrefix.size() + kIdHex + 1 + kSecretHex || !absl::StartsWith(key, kPrefix)) return false;
  const absl::string_view id = key.substr(kPrefix.size(), kIdHex);
  const absl::string_view sep = key.substr(kPrefix.size() + kIdHex, 1);
  const absl::string_view secret = key.substr(kPrefix.size() + kIdHex + 1);
  return IsLowerHex(id) && sep == "_" && IsLowerHex(secret);
}

absl::StatusOr<NewApiKey> ApiKeyStore::Create(absl::string_view name, const std::vector<Scope>& scopes,
                                              int rate_limit_per_second) {
  if (absl::StripAsciiWhitespace(name).empty()) return absl::InvalidArgumentError("name: must not be empty");
  if (scopes.empty()) return absl::InvalidArgumentError("scopes: at least one of read, write, admin");
  if (rate_limit_per_second < 0) return absl::InvalidArgumentError("rate_limit_per_second: must be >= 0");
  ASSIGN_OR_RETURN(const std::string id, RandomHex(kIdHex));
  ASSIGN_OR_RETURN(const std::string secret, RandomHex(kSecretHex));
  NewApiKey out;
  out.secret = absl::StrCat(kPrefix, id, "_", secret);
  std::vector<std::string> names;
  for (Scope s : scopes) names.push_back(ScopeName(s));
  ApiKey key;
  RETURN_IF_ERROR(pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(
            auto r,
            tx.Exec(absl::StrCat("INSERT INTO gateway.api_keys (id, name, key_sha256, scopes, "
                                 "rate_limit_per_second) VALUES ($1, $2, $3, string_to_array($4, ','), $5) "
                                 "RETURNING ",
                                 kColumns),
                    id, std::string(name), HashKey(out.secret), absl::StrJoin(names, ","),
                    rate_limit_per_second));
        key = FromRow(r[0]);
        return absl::OkStatus();
      },
      {.timeout = options_.query_timeout}));
  out.key = std::move(key);
  return out;
}

absl::StatusOr<std::vector<ApiKey>> ApiKeyStore::List(bool include_revoked) {
  std::vector<ApiKey> out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        out.clear();
        ASSIGN_OR_RETURN(auto r, tx.Exec(absl::StrCat("SELECT ", kColumns, " FROM gateway.api_keys",
                                                      include_revoked ? "" : " WHERE revoked_at IS NULL",
                                                      " ORDER BY created_at DESC, id")));
        for (const auto& row : r) out.push_back(FromRow(row));
        return absl::OkStatus();
      },
      {.read_only = true, .timeout = options_.query_timeout}));
  return out;
}

absl::StatusOr<ApiKey> ApiKeyStore::Revoke(absl::string_view id) {
  std::optional<ApiKey> key;
  RETURN_IF_ERROR(pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        key.reset();
        ASSIGN_OR_RETURN(
            auto r,
            tx.Exec(absl::StrCat("UPDATE gateway.api_keys SET revoked_at = coalesce(revoked_at, now()) "
                                 "WHERE id = $1 RETURNING ",
                                 kColumns),
                    std::string(id)));
        if (!r.empty()) key = FromRow(r[0]);
        return absl::OkStatus();
      },
      {.timeout = options_.query_timeout}));
  if (!key.has_value()) return absl::NotFoundError(absl::StrCat("no API key with id \"", id, "\""));
  absl::MutexLock lock(&mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.key.has_value() && it->second.key->id == key->id) {
      cache_.erase(it++);
    } else {
      ++it;
    }
  }
  return *key;
}

void ApiKeyStore::Remember(const std::string& hash, Cached entry) {
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= options_.max_cached) cache_.clear();
  cache_[hash] = std::move(entry);
}

absl::StatusOr<ApiKey> ApiKeyStore::Authenticate(absl::string_view key) {
  if (!LooksLikeKey(key)) return absl::UnauthenticatedError("malformed API key");
  const std::string hash = HashKey(key);
  const absl::Time now = absl::Now();
  std::optional<ApiKey> hit;
  std::optional<std::string> refused;
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.expires > now) {
      if (it->second.key.has_value()) {
        hit = it->second.key;
      } else {
        refused = it->second.reason;
      }
    }
  }
  if (refused.has_value()) return absl::UnauthenticatedError(*refused);
  if (hit.has_value()) {
    TouchLastUsed(*hit);
    return *std::move(hit);
  }
  std::optional<ApiKey> found;
  absl::Status st = pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        found.reset();
        ASSIGN_OR_RETURN(
            auto r,
            tx.Exec(absl::StrCat("SELECT ", kColumns, " FROM gateway.api_keys WHERE key_sha256 = $1"), hash));
        if (!r.empty()) found = FromRow(r[0]);
        return absl::OkStatus();
      },
      {.read_only = true, .timeout = options_.query_timeout});
  if (!st.ok()) {
    return absl::Status(
        st.code() == absl::StatusCode::kDeadlineExceeded ? st.code() : absl::StatusCode::kUnavailable,
        absl::StrCat("cannot check the API key: ", st.message()));
  }
  Cached entry;
  if (!found.has_value()) {
    entry.reason = "unknown API key";
  } else if (found->revoked_at.has_value()) {
    entry.reason = "revoked API key";
  } else {
    entry.key = found;
  }
  entry.expires = now + (entry.key.has_value() ? options_.cache_ttl : options_.negative_ttl);
  const std::string reason = entry.reason;
  Remember(hash, std::move(entry));
  if (!found.has_value() || found->revoked_at.has_value()) return absl::UnauthenticatedError(reason);
  TouchLastUsed(*found);
  return *found;
}

void ApiKeyStore::TouchLastUsed(const ApiKey& key) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = last_used_written_.try_emplace(key.id, now);
    if (!inserted) {
      if (now - it->second < options_.last_used_interval) return;
      it->second = now;
    }
  }
  absl::Status st = pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        return tx.Exec("UPDATE gateway.api_keys SET last_used_at = now() WHERE id = $1", key.id).status();
      },
      {.timeout = options_.query_timeout});
  if (!st.ok()) logging::Warn("cannot record an API key's last use", {{"key_id", key.id}, {"error", st}});
}

}  // namespace marketlens::gateway
