#include "common/testing/migrated_database.h"

#include <cstdio>
#include <cstdlib>

#include "common/logging/log.h"
#include "common/migrate/migrate.h"
#include "common/status/macros.h"
#include "gtest/gtest.h"

namespace marketlens::testing {

absl::StatusOr<MigratedDatabase> CreateMigratedDatabase(PostgresServer& server,
                                                        const MigratedDatabaseOptions& options) {
  logging::SetMinLevel(logging::Level::kWarning);
  MigratedDatabase db;
  ASSIGN_OR_RETURN(std::string dsn, server.CreateTestDatabase());
  db.dsn = std::move(dsn);
  postgres::PoolOptions pool_options;
  pool_options.dsn = db.dsn;
  pool_options.max_size = options.pool_size;
  ASSIGN_OR_RETURN(std::unique_ptr<postgres::PgPool> pool, postgres::PgPool::Create(pool_options));
  db.pool = std::move(pool);
  if (auto applied = migrate::ApplyMigrationsFromDir(*db.pool, options.migrations_dir); !applied.ok()) {
    return applied.status();
  }
  return db;
}

MigratedDatabase CreateMigratedDatabaseOrFail(PostgresServer& server,
                                              const MigratedDatabaseOptions& options) {
  absl::StatusOr<MigratedDatabase> db = CreateMigratedDatabase(server, options);
  if (!db.ok()) {
    ADD_FAILURE() << "a migrated test database: " << db.status();
    return {};
  }
  return *std::move(db);
}

PostgresServer& SharedPostgresServer() {
  static PostgresServer* server = PostgresServer::StartOrDie().release();
  return *server;
}

RedisServer& SharedRedisServer() {
  static RedisServer* server = [] {
    absl::StatusOr<std::unique_ptr<RedisServer>> s = RedisServer::Create();
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start a test Redis: %s\n", s.status().ToString().c_str());
      std::abort();
    }
    return s->release();
  }();
  return *server;
}

}  // namespace marketlens::testing
