// The model registry against a real PostgreSQL with the real migrations.
#include "services/recommender/store/registry.h"

#include <atomic>
#include <cmath>
#include <thread>

#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::IsOk;
using ::marketlens::testing::SharedPostgresServer;

ModelRecord Record(const std::string& version, int64_t trained_at) {
  ModelRecord r;
  r.version = version;
  r.algorithm = "hybrid";
  r.trained_at = absl::FromUnixSeconds(trained_at);
  r.data_from = absl::FromUnixSeconds(1000);
  r.data_to = absl::FromUnixSeconds(2000);
  r.params = {{"als.factors", "32"}, {"note", "quote \" backslash \\ tab\t"}};
  r.metrics = {{"ndcg@10", 0.25}, {"users", 1200}};
  r.artifact_uri = "file:///models/" + version + ".mlrec";
  return r;
}

TEST(RegistryTest, RegisterGetListRoundTrip) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer()).pool;
  ASSERT_NE(pool, nullptr);
  ModelRegistry registry(pool.get());
  ASSERT_THAT(registry.Register(Record("a", 100)), IsOk());
  ASSERT_THAT(registry.Register(Record("b", 200)), IsOk());
  EXPECT_EQ(registry.Register(Record("a", 300)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Register(ModelRecord{}).code(), absl::StatusCode::kInvalidArgument);
  auto a = registry.Get("a");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->params, Record("a", 100).params);
  EXPECT_EQ(a->metrics, Record("a", 100).metrics);
  EXPECT_EQ(a->trained_at, absl::FromUnixSeconds(100));
  EXPECT_EQ(*a->data_to, absl::FromUnixSeconds(2000));
  EXPECT_FALSE(a->promoted);
  EXPECT_EQ(registry.Get("zzz").status().code(), absl::StatusCode::kNotFound);
  auto list = registry.List();
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].version, "b");  // newest first
  auto promoted = registry.Promoted();
  ASSERT_THAT(promoted, IsOk());
  EXPECT_FALSE(promoted->has_value());
}

// MetricsJson is the value MetricsToJson prints (what `cli models list --json` used to parse back), shortest
// round-trip numbers, non-finite values left out.
TEST(RegistryTest, MetricsJsonIsTheValueMetricsToJsonPrints) {
  const std::map<std::string, double> metrics = {{"ndcg@10", 0.1 + 0.2}, {"rmse", 3.5622000000000003},
                                                 {"count", 42},          {"tiny \"q\" \xc3\xa9", 1e-300},
                                                 {"nan", std::nan("")},  {"inf", HUGE_VAL}};
  const nlohmann::ordered_json value = MetricsJson(metrics);
  EXPECT_EQ(value.dump(), R"({"count":42.0,"ndcg@10":0.30000000000000004,"rmse":3.5622000000000003,)"
                          "\"tiny \\\"q\\\" \xc3\xa9\":1e-300}");
  EXPECT_EQ(MetricsToJson(metrics), value.dump());
  EXPECT_EQ(nlohmann::ordered_json::parse(MetricsToJson(metrics)), value);
  EXPECT_EQ(MetricsJson({}).dump(), "{}");
}

TEST(RegistryTest, PromoteAndRollbackWalkTheStack) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer()).pool;
  ASSERT_NE(pool, nullptr);
  ModelRegistry registry(pool.get());
  for (const char* v : {"a", "b", "c"}) ASSERT_THAT(registry.Register(Record(v, 100)), IsOk());
  EXPECT_EQ(registry.Rollback().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry.Promote("nope").status().code(), absl::StatusCode::kNotFound);
  for (const char* v : {"a", "b", "b", "c"}) ASSERT_THAT(registry.Promote(v), IsOk());  // b twice: one push
  EXPECT_EQ((*registry.Promoted())->version, "c");
  auto back = registry.Rollback();
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->version, "b");
  EXPECT_TRUE(back->promoted);
  EXPECT_EQ((*registry.Promoted())->version, "b");
  EXPECT_EQ(registry.Rollback()->version, "a");
  EXPECT_EQ(registry.Rollback().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*registry.Promoted())->version, "a");
  // Promoting again after rollbacks pushes on the shortened stack.
  ASSERT_THAT(registry.Promote("c"), IsOk());
  EXPECT_EQ(registry.Rollback()->version, "a");
  // The history keeps everything.
  auto rows = pool->Exec("SELECT count(*), count(rolled_back_at) FROM recsys.model_promotions");
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ((*rows)[0][0].as<int>(), 7);  // promote a b c, rollback to b, to a, promote c, rollback to a
  EXPECT_EQ((*rows)[0][1].as<int>(), 3);
}

TEST(RegistryTest, ConcurrentPromotionsLeaveOnePromoted) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer(), {.pool_size = 8}).pool;
  ASSERT_NE(pool, nullptr);
  ModelRegistry registry(pool.get());
  for (int i = 0; i < 4; ++i)
    ASSERT_THAT(registry.Register(Record("m" + std::to_string(i), 100 + i)), IsOk());
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 10; ++k) {
        auto r = (k % 3 == 2) ? registry.Rollback() : registry.Promote("m" + std::to_string((t + k) % 4));
        if (!r.ok() && r.status().code() != absl::StatusCode::kFailedPrecondition) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  auto rows = pool->Exec("SELECT count(*) FROM recsys.models WHERE promoted");
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ((*rows)[0][0].as<int>(), 1);
  // The promoted model is the top of the stack.
  auto top = pool->Exec(
      "SELECT version FROM recsys.model_promotions WHERE reason = 'promote' AND rolled_back_at IS NULL "
      "ORDER BY id DESC LIMIT 1");
  ASSERT_THAT(top, IsOk());
  EXPECT_EQ((*top)[0][0].as<std::string>(), (*registry.Promoted())->version);
}

TEST(RegistryTest, PruneKeepsNewestPromotedAndExperimentModels) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer()).pool;
  ASSERT_NE(pool, nullptr);
  ModelRegistry registry(pool.get());
  for (int i = 0; i < 6; ++i)
    ASSERT_THAT(registry.Register(Record("m" + std::to_string(i), 100 + i)), IsOk());
  ASSERT_THAT(registry.Promote("m0"), IsOk());
  ASSERT_THAT(pool->Exec("INSERT INTO recsys.experiments (id, variants, state) VALUES ('e1', "
                         "'[{\"name\":\"control\",\"weight\":1},{\"name\":\"new\",\"weight\":1,\"model_"
                         "version\":\"m1\"}]', "
                         "'running')"),
              IsOk());
  EXPECT_EQ(registry.Prune(0).status().code(), absl::StatusCode::kInvalidArgument);
  auto pruned = registry.Prune(2);
  ASSERT_THAT(pruned, IsOk());
  std::vector<std::string> gone;
  for (const auto& m : *pruned) gone.push_back(m.version);
  std::sort(gone.begin(), gone.end());
  EXPECT_EQ(gone, (std::vector<std::string>{"m2", "m3"}));
  auto left = registry.List();
  ASSERT_EQ(left->size(), 4u);  // m5 m4 (newest), m1 (experiment), m0 (promoted)
  EXPECT_EQ((*registry.Promoted())->version, "m0");
}

}  // namespace
}  // namespace marketlens::recommender
