// migrate: applies deploy/migrations/NNNN_name.sql to a PostgreSQL database (rules in migrate.h).
//
//   migrate --dsn="host=127.0.0.1 port=55432 dbname=marketlens user=marketlens" --dir=deploy/migrations
//   MARKETLENS_PG_DSN=... migrate --status
//   migrate --comment_edit_entry=deploy/migrations/0001_schemas.sql   (no database: see comment_edits.txt)
//
// The password comes from the DSN, PGPASSWORD or a password file (libpq), never from a flag.
// Exit codes: 0 done (or, with --status, history consistent); 1 failure (message on stderr);
// 2 bad usage.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/logging/log.h"
#include "common/migrate/migrate.h"
#include "common/postgres/pool.h"

ABSL_FLAG(std::string, dsn, "", "libpq connection string or URI (default: $MARKETLENS_PG_DSN)");
ABSL_FLAG(std::string, dir, "deploy/migrations", "directory holding the NNNN_name.sql files");
ABSL_FLAG(bool, status, false, "list applied and pending migrations instead of applying them");
ABSL_FLAG(absl::Duration, wait, absl::ZeroDuration(),
          "wait up to this long for the database to accept connections (e.g. at stack start-up)");
ABSL_FLAG(absl::Duration, await_applied, absl::ZeroDuration(),
          "apply nothing: wait up to this long until every migration file has been applied (by another "
          "runner, e.g. the Kubernetes migration Job), then exit 0; exit 1 if some are still pending. "
          "For init containers that hold a service back until its schema is there.");
ABSL_FLAG(absl::Duration, lock_timeout, absl::Seconds(60), "wait up to this long for another runner's lock");
ABSL_FLAG(absl::Duration, migration_timeout, absl::Minutes(10), "time limit of each migration");
ABSL_FLAG(std::string, comment_edit_entry, "",
          "no database: print the deploy/migrations/comment_edits.txt line of this migration file, read "
          "BEFORE its comments are edited (version, whole-file sha256, statements sha256), and exit");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10), "libpq connect_timeout");

namespace marketlens::migrate {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "migrate: error: " << status.message() << " (" << absl::StatusCodeToString(status.code())
            << ")\n";
  return 1;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Applies versioned SQL migrations: migrate --dsn=... --dir=deploy/migrations [--status]");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "migrate: unexpected argument '" << rest[1] << "' (see --help)\n";
    return 2;
  }
  logging::SetServiceName("migrate");

  if (const std::string path = absl::GetFlag(FLAGS_comment_edit_entry); !path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Fail(absl::NotFoundError(absl::StrCat("cannot read ", path)));
    std::stringstream contents;
    contents << in.rdbuf();
    absl::StatusOr<Migration> m =
        ParseMigration(std::filesystem::path(path).filename().string(), contents.str());
    if (!m.ok()) return Fail(m.status());
    std::cout << m->version << " " << m->checksum << " " << m->statements_checksum << "\n";
    return 0;
  }

  std::string dsn = absl::GetFlag(FLAGS_dsn);
  if (dsn.empty()) {
    const char* env = std::getenv("MARKETLENS_PG_DSN");
    if (env != nullptr) dsn = env;
  }
  if (dsn.empty()) {
    std::cerr << "migrate: no database given: pass --dsn or set MARKETLENS_PG_DSN\n";
    return 2;
  }

  absl::StatusOr<std::vector<Migration>> migrations = LoadMigrations(absl::GetFlag(FLAGS_dir));
  if (!migrations.ok()) return Fail(migrations.status());

  postgres::PoolOptions pool_options;
  pool_options.dsn = dsn;
  pool_options.max_size = 2;
  pool_options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  pool_options.statement_timeout = absl::ZeroDuration();  // bounded per migration instead
  pool_options.application_name = "marketlens-migrate";
  absl::StatusOr<std::unique_ptr<postgres::PgPool>> pool = postgres::PgPool::Create(pool_options);
  if (!pool.ok()) return Fail(pool.status());

  const absl::Time wait_until = absl::Now() + absl::GetFlag(FLAGS_wait);
  absl::Status ping = (*pool)->Ping(std::max(absl::GetFlag(FLAGS_connect_timeout), absl::Seconds(2)));
  while (!ping.ok() && ping.code() == absl::StatusCode::kUnavailable && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(500));
    ping = (*pool)->Ping(std::max(absl::GetFlag(FLAGS_connect_timeout), absl::Seconds(2)));
  }
  if (!ping.ok())
    return Fail(absl::Status(ping.code(), absl::StrCat("cannot reach the database: ", ping.message())));

  Options options;
  options.lock_timeout = absl::GetFlag(FLAGS_lock_timeout);
  options.migration_timeout = absl::GetFlag(FLAGS_migration_timeout);
  Migrator migrator(pool->get(), options);

  if (absl::GetFlag(FLAGS_await_applied) > absl::ZeroDuration()) {
    absl::Status applied =
        migrator.AwaitApplied(*migrations, absl::Now() + absl::GetFlag(FLAGS_await_applied));
    if (!applied.ok()) return Fail(applied);
    std::cout << "all " << migrations->size() << " migrations applied\n";
    return 0;
  }

  if (absl::GetFlag(FLAGS_status)) {
    absl::StatusOr<std::vector<MigrationState>> states = migrator.Status(*migrations);
    if (!states.ok()) return Fail(states.status());
    std::cout << FormatStatus(*states);
    int pending = 0;
    bool broken = false;
    for (const MigrationState& s : *states) {
      if (s.state == State::kPending) ++pending;
      if (s.state == State::kChanged || s.state == State::kMissing) broken = true;
    }
    std::cout << pending << " pending\n";
    if (broken) {
      std::cerr
          << "migrate: error: the applied history does not match the files (see CHANGED/MISSING above)\n";
      return 1;
    }
    return 0;
  }

  absl::StatusOr<std::vector<Migration>> applied = migrator.Apply(*migrations);
  if (!applied.ok()) return Fail(applied.status());
  for (const Migration& m : *applied) std::cout << "applied " << m.filename << "\n";
  std::cout << (applied->empty() ? "up to date" : absl::StrCat(applied->size(), " applied")) << " ("
            << migrations->size() << " migrations)\n";
  return 0;
}

}  // namespace
}  // namespace marketlens::migrate

int main(int argc, char** argv) { return marketlens::migrate::Main(argc, argv); }
