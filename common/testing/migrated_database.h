// The set-up most integration tests share: a throwaway PostgreSQL with a fresh database per test, every
// migration in deploy/migrations applied, a pool on it — and, for suites that cache, a throwaway Redis.
//
//   class MyTest : public ::testing::Test {
//    protected:
//     void SetUp() override { db_ = CreateMigratedDatabaseOrFail(SharedPostgresServer()); }
//     MigratedDatabase db_;  // db_.pool, db_.dsn
//   };
//
// SharedPostgresServer() / SharedRedisServer() start one server per test process on first use (and abort
// with the reason when they cannot: a missing server binary is a failure, never a skip). Tests that need a
// server of their own (to stop or kill it) start one with PostgresServer::StartOrDie() and pass it in.
// Targets using PostgreSQL need `data = ["//deploy/migrations"]` and `tags = ["no-sandbox"]` (see
// postgres_fixture.h).
#ifndef MARKETLENS_COMMON_TESTING_MIGRATED_DATABASE_H_
#define MARKETLENS_COMMON_TESTING_MIGRATED_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/postgres/pool.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"

namespace marketlens::testing {

struct MigratedDatabaseOptions {
  int pool_size = 4;
  // Relative to the test's runfiles root (the workspace).
  std::string migrations_dir = "deploy/migrations";
};

struct MigratedDatabase {
  std::string dsn;  // libpq keyword/value string of the fresh database
  std::unique_ptr<postgres::PgPool> pool;
};

// A fresh database on `server` named after the running test, migrated, with a pool of
// `options.pool_size`. Logging below warnings is turned off (no "migration applied" line per test).
absl::StatusOr<MigratedDatabase> CreateMigratedDatabase(PostgresServer& server,
                                                        const MigratedDatabaseOptions& options = {});
// The same, reporting an error through gtest (ADD_FAILURE) and returning an empty MigratedDatabase (null
// pool): for SetUp / SetUpTestSuite, followed by ASSERT_NE(db.pool, nullptr) where it matters.
MigratedDatabase CreateMigratedDatabaseOrFail(PostgresServer& server,
                                              const MigratedDatabaseOptions& options = {});

// One server per test process, started on first use and never deleted: each fixture already cleans up
// after a process that exits without its destructor (PostgreSQL's reaper, Redis's parent-death signal).
PostgresServer& SharedPostgresServer();
RedisServer& SharedRedisServer();

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_MIGRATED_DATABASE_H_
