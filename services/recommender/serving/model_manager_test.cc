// The model manager against a real PostgreSQL: a model registered with its artifact in Postgres is
// loaded by a "replica" that has never seen it, through the local cache (filled on a miss, used on a hit,
// ignored and rewritten when damaged); a damaged stored artifact is refused and counted; the model age
// gauge appears with the first model.
#include "services/recommender/serving/model_manager.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/recommender/serving/serving_fixture.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::SharedPostgresServer;

using ::marketlens::testing::IsOk;
using testing::World;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The value of a metric family's only sample (-1 when absent).
double Sample(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name || family.metric.empty()) continue;
    const auto& m = family.metric[0];
    return family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
  }
  return -1;
}

double Counter(prometheus::Registry& registry, const std::string& name, const std::string& result) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      for (const auto& label : m.label) {
        if (label.name == "result" && label.value == result) return m.counter.value;
      }
    }
  }
  return -1;
}

class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = CreateMigratedDatabaseOrFail(SharedPostgresServer(), {.pool_size = 4}).pool;
    ASSERT_NE(pg_, nullptr);
    ModelRegistry registry(pg_.get());
    ModelBundle bundle = World().model->bundle();
    bundle.version = "stored-1";
    bundle.trained_at = absl::ToUnixSeconds(absl::Now()) - 3600;  // an hour old
    auto record = registry.RegisterWithArtifact(bundle);
    ASSERT_THAT(record, IsOk());
    ASSERT_THAT(registry.Promote("stored-1"), IsOk());
    dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  std::unique_ptr<ModelManager> Replica(const std::string& dir,
                                        std::shared_ptr<prometheus::Registry> metrics) {
    auto m = std::make_unique<ModelManager>(pg_.get(), ModelManagerOptions{.poll_interval = absl::Seconds(60),
                                                                           .bootstrap_train = false,
                                                                           .artifact_dir = dir,
                                                                           .metrics = metrics});
    m->Start();
    return m;
  }

  std::unique_ptr<postgres::PgPool> pg_;
  std::string dir_;
};

TEST_F(ModelManagerTest, LoadsFromPostgresThroughTheCache) {
  auto metrics = std::make_shared<prometheus::Registry>();
  auto first = Replica(dir_, metrics);
  ASSERT_NE(first->Current(), nullptr);
  EXPECT_EQ(first->Current()->version(), "stored-1");
  EXPECT_EQ(first->stats().artifact_cache_misses, 1);
  const std::string cached = dir_ + "/cache/stored-1.mlrec";
  auto stored = ArtifactStore(pg_.get()).Get("stored-1");
  ASSERT_THAT(stored, IsOk());
  EXPECT_TRUE(ReadAll(cached) == *stored);
  // Age of the serving model: about an hour; trained_at exactly.
  const double age = Sample(*metrics, "recommender_model_age_seconds");
  EXPECT_GE(age, 3600);
  EXPECT_LT(age, 3700);
  EXPECT_EQ(Sample(*metrics, "recommender_model_trained_timestamp_seconds"),
            static_cast<double>(first->Current()->bundle().trained_at));
  EXPECT_EQ(Counter(*metrics, "recommender_model_loads_total", "ok"), 1);
  first->Stop();

  // A restarted pod with its cache: no download.
  auto second = Replica(dir_, std::make_shared<prometheus::Registry>());
  ASSERT_NE(second->Current(), nullptr);
  EXPECT_EQ(second->stats().artifact_cache_hits, 1);
  EXPECT_EQ(second->stats().artifact_cache_misses, 0);
  second->Stop();

  // A damaged cache file is not trusted: read again from Postgres and rewritten.
  std::ofstream(cached, std::ios::binary | std::ios::trunc) << "garbage";
  auto third = Replica(dir_, std::make_shared<prometheus::Registry>());
  ASSERT_NE(third->Current(), nullptr);
  EXPECT_EQ(third->Current()->version(), "stored-1");
  EXPECT_EQ(third->stats().artifact_cache_misses, 1);
  EXPECT_TRUE(ReadAll(cached) == *stored);
}

TEST_F(ModelManagerTest, DamagedStoredArtifactIsRefusedAndCounted) {
  ASSERT_TRUE(pg_->Exec("UPDATE recsys.model_artifact_chunks SET data = set_byte(data, 100, (get_byte(data, "
                        "100) + 1) % 256) WHERE version = 'stored-1' AND seq = 0")
                  .ok());
  auto metrics = std::make_shared<prometheus::Registry>();
  auto replica = Replica(dir_, metrics);
  EXPECT_EQ(replica->Current(), nullptr);  // no model rather than a corrupted one
  EXPECT_EQ(replica->stats().reload_failures, 1);
  EXPECT_EQ(Counter(*metrics, "recommender_model_loads_total", "failed"), 1);
  EXPECT_EQ(Sample(*metrics, "recommender_model_age_seconds"), -1);  // absent until a model is served
  absl::Status preload = replica->Preload("stored-1");
  EXPECT_EQ(preload.code(), absl::StatusCode::kDataLoss) << preload;
  EXPECT_NE(::access((dir_ + "/cache/stored-1.mlrec").c_str(), F_OK), 0);  // nothing cached
}

}  // namespace
}  // namespace marketlens::recommender
