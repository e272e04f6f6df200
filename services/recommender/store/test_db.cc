#include "services/recommender/store/test_db.h"

#include "common/logging/log.h"
#include "common/migrate/migrate.h"
#include "gtest/gtest.h"

namespace marketlens::recommender::testing {

marketlens::testing::PostgresServer& SharedPostgres() {
  static marketlens::testing::PostgresServer* server =
      marketlens::testing::PostgresServer::StartOrDie().release();
  return *server;
}

std::unique_ptr<postgres::PgPool> MigratedDatabase(int max_size, std::string* dsn_out) {
  logging::SetMinLevel(logging::Level::kWarning);  // no "migration applied" lines per test
  std::string dsn = SharedPostgres().CreateTestDatabaseOrFail();
  if (dsn.empty()) return nullptr;
  auto pool = postgres::PgPool::Create({.dsn = dsn, .max_size = max_size});
  if (!pool.ok()) {
    ADD_FAILURE() << pool.status();
    return nullptr;
  }
  auto applied = migrate::ApplyMigrationsFromDir(**pool, "deploy/migrations");
  if (!applied.ok()) {
    ADD_FAILURE() << "migrations: " << applied.status();
    return nullptr;
  }
  if (dsn_out != nullptr) *dsn_out = dsn;
  return *std::move(pool);
}

}  // namespace marketlens::recommender::testing
