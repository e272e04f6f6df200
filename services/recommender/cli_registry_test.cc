// `cli train --register --promote` and `cli models ...` against a real PostgreSQL.
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/recommender/cli_test_runner.h"
#include "services/recommender/store/registry.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::SharedPostgresServer;

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;

TEST(CliRegistryTest, TrainRegisterPromoteListRollbackPrune) {
  std::string dsn;
  auto db = CreateMigratedDatabaseOrFail(SharedPostgresServer(), {.pool_size = 2});
  dsn = db.dsn;
  auto pool = std::move(db.pool);
  ASSERT_NE(pool, nullptr);
  const std::string tmp = std::getenv("TEST_TMPDIR");
  ASSERT_EQ(Cli({"generate", "--output", tmp + "/d.data", "--users", "200", "--items", "60", "--shop"}).code,
            0);
  for (const char* v : {"v1", "v2", "v3"}) {
    CliRun r =
        Cli({"train", "--input", tmp + "/d.data", "--register", "--promote", "--pg_dsn", dsn, "--version", v,
             "--params", "als.iterations=2", "--no_evaluate", "--artifact_dir", tmp + "/copies/sub"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr(std::string("promoted ") + v));
    // Stored in Postgres, not on this process's disk: any replica can load it.
    EXPECT_THAT(r.out, HasSubstr(std::string("artifact: pg://recsys.model_artifacts/") + v));
    EXPECT_THAT(r.err, HasSubstr("local copy at " + tmp + "/copies/sub/" + v + ".mlrec"));
  }
  auto stored = pool->Exec("SELECT count(*) FROM recsys.model_artifacts");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ((*stored)[0][0].as<int>(), 3);
  // An older registration with its artifact on disk.
  ASSERT_EQ(Cli({"train", "--input", tmp + "/d.data", "--output", tmp + "/old.mlrec", "--version", "v0",
                 "--params", "als.iterations=2", "--no_evaluate"})
                .code,
            0);
  ModelRecord old;
  old.version = "v0";
  old.algorithm = "hybrid";
  old.artifact_uri = "file://" + tmp + "/old.mlrec";
  ASSERT_THAT(ModelRegistry(pool.get()).Register(old), IsOk());
  CliRun list = Cli({"models", "list", "--pg_dsn", dsn});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("v3"));
  CliRun rollback = Cli({"models", "rollback", "--pg_dsn", dsn});
  ASSERT_EQ(rollback.code, 0) << rollback.err;
  EXPECT_EQ(rollback.out, "promoted v2\n");
  CliRun promote = Cli({"models", "promote", "v3", "--pg_dsn", dsn});
  EXPECT_EQ(promote.out, "promoted v3\n");
  EXPECT_THAT(Cli({"models", "promote", "v9", "--pg_dsn", dsn}).err, HasSubstr("not registered"));
  CliRun prune = Cli({"models", "prune", "--keep", "1", "--pg_dsn", dsn});
  ASSERT_EQ(prune.code, 0) << prune.err;
  EXPECT_THAT(prune.out, HasSubstr("pruned v0"));
  EXPECT_THAT(prune.out, HasSubstr("pruned v1"));
  EXPECT_THAT(prune.out, HasSubstr("pruned v2"));
  EXPECT_NE(std::system(("test -e " + tmp + "/old.mlrec").c_str()), 0);  // the file artifact is deleted
  stored = pool->Exec("SELECT string_agg(version, ',') FROM recsys.model_artifacts");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ((*stored)[0][0].as<std::string>(), "v3");  // stored artifacts went with their rows
  CliRun json = Cli({"models", "list", "--json", "--pg_dsn", dsn});
  EXPECT_THAT(json.out, HasSubstr("\"version\":\"v3\",\"algorithm\":\"hybrid\""));
  // Metrics embedded as JSON values, numbers in their shortest round-trip form, NaN left out.
  ModelRecord measured;
  measured.version = "vm";
  measured.algorithm = "als";
  measured.trained_at = absl::FromUnixSeconds(1700000000);
  measured.artifact_uri = "file:///nonexistent/vm.mlrec";
  measured.metrics = {{"ndcg@10", 0.1 + 0.2}, {"rmse", 3.5622000000000003}, {"broken", std::nan("")}};
  ASSERT_THAT(ModelRegistry(pool.get()).Register(measured), IsOk());
  json = Cli({"models", "list", "--json", "--pg_dsn", dsn});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr(R"({"version":"vm","algorithm":"als","trained_at":"2023-11-14T22:13:20Z",)"
                                  R"("promoted":false,"artifact_uri":"file:///nonexistent/vm.mlrec",)"
                                  R"("metrics":{"ndcg@10":0.30000000000000004,"rmse":3.5622000000000003}})"));
  EXPECT_THAT(Cli({"models", "explode", "--pg_dsn", dsn}).err, HasSubstr("unknown action"));
  // Training from Postgres with nothing collected yet fails clearly.
  CliRun empty = Cli({"train", "--source", "postgres", "--pg_dsn", dsn, "--output", tmp + "/x.mlrec"});
  EXPECT_EQ(empty.code, 1);
  EXPECT_THAT(empty.err, HasSubstr("no interactions left after hygiene"));
}

// `cli retention` (the retention CronJob, docs/privacy.md): feedback events and exposures older than N days
// go.
TEST(CliRegistryTest, RetentionDeletesOldEventsAndExposures) {
  std::string dsn;
  auto db = CreateMigratedDatabaseOrFail(SharedPostgresServer(), {.pool_size = 2});
  dsn = db.dsn;
  auto pool = std::move(db.pool);
  ASSERT_NE(pool, nullptr);
  ASSERT_THAT(pool->Exec("INSERT INTO recsys.events (user_id, item_id, event, occurred_at) VALUES"
                         " ('u1', 'i1', 'click', now() - interval '100 days'), ('u1', 'i2', 'click', now())"),
              IsOk());
  ASSERT_THAT(pool->Exec("INSERT INTO recsys.exposures (experiment_id, variant, user_id, occurred_at) VALUES"
                         " ('e', 'a', 'u1', now() - interval '100 days')"),
              IsOk());
  CliRun r = Cli({"retention", "--retention_days", "90", "--pg_dsn", dsn});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "events=1 exposures=1\n");
  auto left = pool->Exec("SELECT item_id FROM recsys.events");
  ASSERT_THAT(left, IsOk());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0][0].as<std::string>(), "i2");
  EXPECT_EQ(Cli({"retention", "--pg_dsn", dsn}).code, 2);
  EXPECT_EQ(Cli({"retention", "--retention_days", "9", "--bogus", "1", "--pg_dsn", dsn}).code, 2);
}

}  // namespace
}  // namespace marketlens::recommender
