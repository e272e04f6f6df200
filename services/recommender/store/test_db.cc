#include "services/recommender/store/test_db.h"

#include "common/testing/migrated_database.h"

namespace marketlens::recommender::testing {

marketlens::testing::PostgresServer& SharedPostgres() { return marketlens::testing::SharedPostgresServer(); }

std::unique_ptr<postgres::PgPool> MigratedDatabase(int max_size, std::string* dsn_out) {
  marketlens::testing::MigratedDatabase db =
      marketlens::testing::CreateMigratedDatabaseOrFail(SharedPostgres(), {.pool_size = max_size});
  if (dsn_out != nullptr) *dsn_out = db.dsn;
  return std::move(db.pool);
}

}  // namespace marketlens::recommender::testing
