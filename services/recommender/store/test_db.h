// For the recommender's integration tests: one throwaway PostgreSQL per test binary, and a fresh database
// with the real migrations (deploy/migrations) applied for every test.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_STORE_TEST_DB_H_
#define MARKETLENS_SERVICES_RECOMMENDER_STORE_TEST_DB_H_

#include <memory>
#include <string>

#include "common/postgres/pool.h"
#include "common/testing/postgres_fixture.h"

namespace marketlens::recommender::testing {

// The server shared by the tests of this binary (started on first use, aborts with a clear message when
// PostgreSQL is missing).
marketlens::testing::PostgresServer& SharedPostgres();

// A new database named after the running test, migrated; its pool (max_size connections). Fails the
// test (ADD_FAILURE) and returns null on error.
std::unique_ptr<postgres::PgPool> MigratedDatabase(int max_size = 4, std::string* dsn = nullptr);

}  // namespace marketlens::recommender::testing

#endif  // MARKETLENS_SERVICES_RECOMMENDER_STORE_TEST_DB_H_
