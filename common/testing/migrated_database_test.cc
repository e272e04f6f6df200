#include "common/testing/migrated_database.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

// Every migration is applied: the schemas the services write to exist, and the ledger lists them.
TEST(MigratedDatabaseTest, AppliesEveryMigration) {
  absl::StatusOr<MigratedDatabase> db = CreateMigratedDatabase(SharedPostgresServer());
  ASSERT_THAT(db, IsOk());
  ASSERT_NE(db->pool, nullptr);
  EXPECT_NE(db->dsn.find("dbname="), std::string::npos);
  for (const char* table : {"raw.reviews", "insights.product_summary", "recsys.events"}) {
    auto exists = db->pool->Exec("SELECT to_regclass($1) IS NOT NULL", std::string(table));
    ASSERT_THAT(exists, IsOk());
    EXPECT_TRUE((*exists)[0][0].as<bool>()) << table;
  }
}

// Each test gets its own database: what one writes, another never sees.
TEST(MigratedDatabaseTest, DatabasesAreIsolated) {
  MigratedDatabase a = CreateMigratedDatabaseOrFail(SharedPostgresServer());
  MigratedDatabase b = CreateMigratedDatabaseOrFail(SharedPostgresServer(), {.pool_size = 2});
  ASSERT_NE(a.pool, nullptr);
  ASSERT_NE(b.pool, nullptr);
  EXPECT_NE(a.dsn, b.dsn);
  ASSERT_THAT(
      a.pool->Exec(
          "INSERT INTO raw.products (id, title, price_cents, updated_at) VALUES ('p1', 't', 100, now())"),
      IsOk());
  auto count = b.pool->Exec("SELECT count(*) FROM raw.products");
  ASSERT_THAT(count, IsOk());
  EXPECT_EQ((*count)[0][0].as<int>(), 0);
}

TEST(MigratedDatabaseTest, MissingMigrationsDirIsAnError) {
  EXPECT_FALSE(CreateMigratedDatabase(SharedPostgresServer(), {.migrations_dir = "no/such/dir"}).ok());
}

TEST(MigratedDatabaseTest, SharedRedisAnswers) {
  absl::StatusOr<std::string> pong = SharedRedisServer().RawCommand("PING");
  ASSERT_THAT(pong, IsOk());
  EXPECT_EQ(*pong, "+PONG");
  EXPECT_EQ(&SharedRedisServer(), &SharedRedisServer());
}

}  // namespace
}  // namespace marketlens::testing
