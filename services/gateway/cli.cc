// API keys from the command line, straight against Postgres (works while the gateway is down):
//
//   bazel run //services/gateway:cli -- create-key --name=dashboard --scopes=read,write [--rate_limit=20]
//   bazel run //services/gateway:cli -- list-keys
//   bazel run //services/gateway:cli -- revoke-key --id=3f9a0c1d2e4b
//
// create-key prints the key once, alone on the last line (only its hash is stored); --quiet prints only
// the key. The password comes from PGPASSWORD, ~/.pgpass or --pg_password_file, never the command line.
// Running gateways notice a revocation within their --api_key_cache_ttl.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/config/secret.h"
#include "common/postgres/pool.h"
#include "services/gateway/api_keys.h"

ABSL_FLAG(std::string, pg_dsn, "host=127.0.0.1 port=55432 dbname=marketlens user=marketlens",
          "libpq connection string (no password here)");
ABSL_FLAG(std::string, pg_password_file, "", "file holding the Postgres password");
ABSL_FLAG(std::string, name, "", "create-key: who or what uses the key");
ABSL_FLAG(std::string, scopes, "read", "create-key: read, write and/or admin, comma-separated");
ABSL_FLAG(int, rate_limit, 0, "create-key: requests per second (0: the gateway's default)");
ABSL_FLAG(std::string, id, "", "revoke-key: the key's id");
ABSL_FLAG(bool, quiet, false, "create-key: print only the key");

namespace {

using marketlens::gateway::ApiKey;
using marketlens::gateway::ApiKeyStore;

std::string Describe(const ApiKey& k) {
  std::vector<std::string> scopes;
  for (auto s : k.scopes) scopes.push_back(marketlens::gateway::ScopeName(s));
  return absl::StrCat(
      k.id, "  ", k.name, "  scopes=", absl::StrJoin(scopes, ","),
      "  rate_limit=", k.rate_limit_per_second == 0 ? "default" : absl::StrCat(k.rate_limit_per_second, "/s"),
      "  created=", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", k.created_at, absl::UTCTimeZone()),
      k.revoked_at.has_value()
          ? absl::StrCat("  REVOKED ",
                         absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *k.revoked_at, absl::UTCTimeZone()))
          : "");
}

int Fail(const absl::Status& st) {
  std::cerr << "error: " << st << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("gateway API keys: create-key | list-keys | revoke-key (see --help)");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: cli create-key --name=N --scopes=read,write [--rate_limit=R] | list-keys | "
                 "revoke-key --id=ID\n";
    return 2;
  }
  const std::string command = args[1];
  const std::string password_file = absl::GetFlag(FLAGS_pg_password_file);
  if (!password_file.empty()) {
    auto password = marketlens::config::ReadSecret("", password_file, "pg_password");
    if (!password.ok()) return Fail(password.status());
    setenv("PGPASSWORD", password->c_str(), 1);
  }
  auto pool = marketlens::postgres::PgPool::Create(
      {.dsn = absl::GetFlag(FLAGS_pg_dsn), .max_size = 1, .application_name = "gateway-cli"});
  if (!pool.ok()) return Fail(pool.status());
  ApiKeyStore store(pool->get());

  if (command == "create-key") {
    auto scopes = marketlens::gateway::ParseScopes(absl::GetFlag(FLAGS_scopes));
    if (!scopes.ok()) return Fail(scopes.status());
    auto key = store.Create(absl::GetFlag(FLAGS_name), *scopes, absl::GetFlag(FLAGS_rate_limit));
    if (!key.ok()) return Fail(key.status());
    if (!absl::GetFlag(FLAGS_quiet)) {
      std::cout << "created " << Describe(key->key) << "\n"
                << "the key below is shown only now; keep it secret:\n";
    }
    std::cout << key->secret << "\n";
    return 0;
  }
  if (command == "list-keys") {
    auto keys = store.List();
    if (!keys.ok()) return Fail(keys.status());
    for (const ApiKey& k : *keys) std::cout << Describe(k) << "\n";
    return 0;
  }
  if (command == "revoke-key") {
    auto key = store.Revoke(absl::GetFlag(FLAGS_id));
    if (!key.ok()) return Fail(key.status());
    std::cout << "revoked " << Describe(*key) << "\n";
    return 0;
  }
  std::cerr << "unknown command \"" << command << "\" (create-key, list-keys, revoke-key)\n";
  return 2;
}
