#include "services/recommender/serving/experiment_store.h"

#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/recommender/serving/service.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::SharedPostgresServer;

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;

ExperimentRow Row(const std::string& id) {
  ExperimentRow r;
  r.spec.id = id;
  r.spec.variants = {{"control", 1, ""}, {"treatment", 1, "v2"}};
  r.spec.surfaces = {"home", "email"};
  r.name = "Name \"quoted\"";
  return r;
}

TEST(ExperimentStoreTest, CreateListAndStates) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer()).pool;
  ASSERT_NE(pool, nullptr);
  ExperimentStore store(pool.get());
  auto created = store.Create(Row("e1"));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->state, "draft");
  EXPECT_EQ(created->spec.salt, "e1");
  EXPECT_EQ(created->spec.traffic, 1);
  ASSERT_EQ(created->spec.variants.size(), 2u);
  EXPECT_EQ(created->spec.variants[1].model_version, "v2");
  EXPECT_EQ(created->spec.surfaces, (std::vector<std::string>{"home", "email"}));
  EXPECT_EQ(created->name, "Name \"quoted\"");
  EXPECT_EQ(store.Create(Row("e1")).status().code(), absl::StatusCode::kAlreadyExists);
  ExperimentRow bad = Row("e2");
  bad.spec.variants.pop_back();
  EXPECT_EQ(store.Create(bad).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(store.Running()->empty());
  auto running = store.SetState("e1", "running");
  ASSERT_THAT(running, IsOk());
  EXPECT_TRUE(running->started_at.has_value());
  ASSERT_EQ(store.Running()->size(), 1u);
  auto again = store.SetState("e1", "running");  // idempotent: a retried call changes nothing
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->started_at, running->started_at);
  ASSERT_THAT(store.SetState("e1", "stopped"), IsOk());
  EXPECT_THAT(store.SetState("e1", "running").status().message(), HasSubstr("is stopped"));
  EXPECT_EQ(store.SetState("nope", "stopped").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.SetState("e1", "paused").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.List()->size(), 1u);
}

TEST(ExperimentStoreTest, CountsAndStatistics) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer()).pool;
  ASSERT_NE(pool, nullptr);
  ExperimentStore store(pool.get());
  ExperimentRow row = Row("e1");
  row.state = "running";
  ASSERT_THAT(store.Create(row), IsOk());
  // 4 control users (1 converts), 4 treatment users (3 convert); a purchase with a wrong variant is ignored.
  const char* setup[] = {
      "INSERT INTO recsys.assignments (experiment_id, user_id, variant) SELECT 'e1', 'c' || g, 'control' "
      "FROM generate_series(1, 4) g",
      "INSERT INTO recsys.assignments (experiment_id, user_id, variant) SELECT 'e1', 't' || g, 'treatment' "
      "FROM generate_series(1, 4) g",
      "INSERT INTO recsys.exposures (experiment_id, variant, user_id) SELECT 'e1', 'control', 'c' || g FROM "
      "generate_series(1, 4) g",
      "INSERT INTO recsys.exposures (experiment_id, variant, user_id) SELECT 'e1', 'treatment', 't' || (g % "
      "4 + 1) FROM generate_series(1, 8) g",
      "INSERT INTO recsys.events (user_id, item_id, event, experiment_id, variant) VALUES "
      "('c1', 'x', 'purchase', 'e1', 'control'), ('c1', 'x', 'click', 'e1', 'control'), "
      "('t1', 'x', 'purchase', 'e1', 'treatment'), ('t1', 'y', 'purchase', 'e1', 'treatment'), "
      "('t2', 'x', 'purchase', 'e1', 'treatment'), ('t3', 'x', 'purchase', 'e1', 'treatment'), "
      "('t3', 'x', 'click', 'e1', 'treatment'), ('c2', 'x', 'purchase', 'e1', 'treatment')",
  };
  for (const char* sql : setup) ASSERT_THAT(pool->Exec(sql), IsOk()) << sql;
  auto counts = store.Counts("e1");
  ASSERT_THAT(counts, IsOk());
  ASSERT_EQ(counts->size(), 2u);
  const VariantCounts& c = (*counts)[0];
  const VariantCounts& t = (*counts)[1];
  EXPECT_EQ(c.name, "control");
  EXPECT_EQ(c.users, 4);
  EXPECT_EQ(c.impressions, 4);
  EXPECT_EQ(c.clicks, 1);
  EXPECT_EQ(c.converted_users, 1);
  EXPECT_EQ(t.users, 4);
  EXPECT_EQ(t.impressions, 8);
  EXPECT_EQ(t.purchases, 4);
  EXPECT_EQ(t.converted_users, 3);
  EXPECT_EQ(t.model_version, "v2");

  v1::ExperimentResults r = BuildExperimentResults("e1", *counts);
  EXPECT_EQ(r.control(), "control");
  EXPECT_DOUBLE_EQ(r.variants(0).conversion(), 0.25);
  EXPECT_DOUBLE_EQ(r.variants(1).conversion(), 0.75);
  EXPECT_DOUBLE_EQ(r.variants(1).conversion_lift(), 2.0);
  EXPECT_DOUBLE_EQ(r.variants(1).ctr(), 1.0 / 8);
  EXPECT_LT(r.variants(1).conversion_ci_low(), 0.75);
  EXPECT_GT(r.variants(1).conversion_ci_high(), 0.75);
  EXPECT_NEAR(r.p_value(), TwoProportionPValue(3, 4, 1, 4), 1e-9);
  EXPECT_FALSE(r.significant());  // 4 users each: not enough evidence
  EXPECT_EQ(store.Counts("nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace marketlens::recommender
