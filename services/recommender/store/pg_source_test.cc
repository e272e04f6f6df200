#include "services/recommender/store/pg_source.h"

#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::IsOk;
using ::marketlens::testing::SharedPostgresServer;

TEST(PgSourceTest, LoadsInteractionsFeedbackCatalogRegionsAndSkipsForgotten) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer()).pool;
  ASSERT_NE(pool, nullptr);
  const char* setup[] = {
      "INSERT INTO raw.products (id, title, category, brand, description, price_cents, attributes, "
      "updated_at) VALUES "
      "('P1', 'Chef knife', 'Kitchen', 'Acme', 'Sharp', 1000, '{\"steel\":\"VG10\",\"size\":\"8in\"}', "
      "now()),"
      "('P2', 'Hose', 'Garden', 'Green', '', 500, '[1,2]', now())",
      "INSERT INTO raw.customers (id, region) VALUES ('C1', 'DE'), ('C2', ''), ('C3', 'US')",
      "INSERT INTO raw.interactions (id, customer_id, product_id, type, rating, session_id, occurred_at) "
      "VALUES "
      "('I1', 'C1', 'P1', 'view', NULL, 'S1', '2025-01-01T10:00:00Z'),"
      "('I2', 'C1', 'P1', 'purchase', NULL, 'S1', '2025-01-01T10:05:00Z'),"
      "('I3', 'C2', 'P2', 'rating', 4, '', '2025-01-02T10:00:00Z'),"
      "('I4', 'C3', 'P2', 'view', NULL, '', '2025-01-03T10:00:00Z')",
      "INSERT INTO recsys.events (user_id, item_id, event, occurred_at) VALUES "
      "('C2', 'P1', 'like', '2025-01-04T00:00:00Z'), ('C3', 'P1', 'click', '2025-01-04T00:00:00Z')",
      "INSERT INTO recsys.forgotten_users (user_id) VALUES ('C3')",
  };
  for (const char* sql : setup) ASSERT_THAT(pool->Exec(sql), IsOk()) << sql;
  auto data = LoadTrainingData(*pool);
  ASSERT_THAT(data, IsOk());
  EXPECT_EQ(data->raw_interactions, 3);
  EXPECT_EQ(data->feedback_events, 1);
  EXPECT_FALSE(data->log.users.Contains("C3"));
  ASSERT_EQ(data->log.events.size(), 4u);
  EXPECT_EQ(data->log.events[1].type, EventType::kPurchase);
  EXPECT_EQ(data->log.events[1].timestamp, 1735725900);
  EXPECT_EQ(data->log.sessions.Name(data->log.events[1].session), "S1");
  EXPECT_EQ(data->log.events[2].value, 4);
  EXPECT_EQ(data->log.events[3].type, EventType::kLike);
  EXPECT_EQ(data->catalog.at("P1").category, "Kitchen");
  EXPECT_EQ(data->catalog.at("P1").attributes.size(), 2u);
  EXPECT_TRUE(data->catalog.at("P2").attributes.empty());  // a JSON array is not attributes
  EXPECT_EQ(data->user_region.at("C1"), "DE");
  EXPECT_FALSE(data->user_region.contains("C2"));
  EXPECT_TRUE(data->forgotten.contains("C3"));

  auto recent = LoadTrainingData(*pool, {.since = absl::FromUnixSeconds(1735800000)});
  ASSERT_THAT(recent, IsOk());
  EXPECT_EQ(recent->raw_interactions, 1);
  EXPECT_EQ(RawInteractionType("rating"), EventType::kRating);
  EXPECT_FALSE(RawInteractionType("teleport").has_value());
}

}  // namespace
}  // namespace marketlens::recommender
