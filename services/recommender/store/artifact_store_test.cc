// Model artifacts in Postgres against a real PostgreSQL with the real migrations: chunked round trip,
// idempotent puts, checksum verification on load, registration in one transaction, pruning.
#include "services/recommender/store/artifact_store.h"

#include <random>

#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/store/registry.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::IsOk;
using ::marketlens::testing::SharedPostgresServer;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);  // includes NULs and high bytes
  return out;
}

ModelRecord Record(const std::string& version) {
  ModelRecord r;
  r.version = version;
  r.algorithm = "hybrid";
  r.trained_at = absl::FromUnixSeconds(1000);
  r.artifact_uri = PgArtifactUri(version);
  return r;
}

TEST(ArtifactStoreTest, UriRoundTrip) {
  EXPECT_EQ(PgArtifactUri("v7"), "pg://recsys.model_artifacts/v7");
  EXPECT_EQ(PgArtifactVersion("pg://recsys.model_artifacts/v7").value_or(""), "v7");
  EXPECT_FALSE(PgArtifactVersion("file:///models/v7.mlrec").has_value());
  EXPECT_FALSE(PgArtifactVersion("pg://recsys.model_artifacts/").has_value());
}

TEST(ArtifactStoreTest, ChunkedRoundTripIdempotentAndVerified) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer()).pool;
  ASSERT_NE(pool, nullptr);
  ModelRegistry registry(pool.get());
  ArtifactStore store(pool.get());
  ASSERT_THAT(registry.Register(Record("v1")), IsOk());
  const std::string bytes = RandomBytes(10'500, 7);
  auto put = [&](const std::string& version, const std::string& data) {
    return pool->Transact(
        [&](postgres::Tx& tx) { return ArtifactStore::PutIn(tx, version, data, /*chunk_bytes=*/1000); });
  };
  ASSERT_THAT(put("v1", bytes), IsOk());
  auto info = store.Stat("v1");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->size_bytes, 10'500);
  EXPECT_EQ(info->chunks, 11);
  EXPECT_EQ(info->sha256, ArtifactChecksum(bytes));
  EXPECT_EQ(info->sha256.size(), 64u);
  auto got = store.Get("v1");
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(*got == bytes);

  // The same bytes again: nothing to do; other bytes for the version: refused.
  EXPECT_THAT(put("v1", bytes), IsOk());
  EXPECT_EQ(put("v1", RandomBytes(100, 8)).code(), absl::StatusCode::kAlreadyExists);
  // No registry row: refused by the foreign key.
  EXPECT_EQ(put("ghost", bytes).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.Get("ghost").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Stat("ghost").status().code(), absl::StatusCode::kNotFound);

  // A flipped chunk and a missing chunk are DATA_LOSS, never bytes.
  ASSERT_THAT(
      pool->Exec("UPDATE recsys.model_artifact_chunks SET data = set_byte(data, 5, (get_byte(data, 5) + 1) "
                 "% 256) WHERE version = 'v1' AND seq = 3"),
      IsOk());
  EXPECT_EQ(store.Get("v1").status().code(), absl::StatusCode::kDataLoss);
  ASSERT_THAT(pool->Exec("DELETE FROM recsys.model_artifact_chunks WHERE version = 'v1' AND seq = 10"),
              IsOk());
  absl::Status missing = store.Get("v1").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(missing.message().find("chunk 10 of 11 is missing"), absl::string_view::npos) << missing;

  auto deleted = store.Delete("v1");
  ASSERT_THAT(deleted, IsOk());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(*store.Delete("v1"));
  auto left = pool->Exec("SELECT count(*) FROM recsys.model_artifact_chunks");
  ASSERT_THAT(left, IsOk());
  EXPECT_EQ((*left)[0][0].as<int>(), 0);  // the chunks went with their header
}

TEST(ArtifactStoreTest, RegisterWithArtifactLoadsBackAndPruneDeletesIt) {
  auto pool = CreateMigratedDatabaseOrFail(SharedPostgresServer()).pool;
  ASSERT_NE(pool, nullptr);
  ModelRegistry registry(pool.get());
  ArtifactStore store(pool.get());
  for (int k = 1; k <= 3; ++k) {
    ModelBundle bundle;
    bundle.version = "m" + std::to_string(k);
    bundle.algorithm = "popularity";
    bundle.trained_at = 1000 + k;
    bundle.params = {{"k", std::to_string(k)}};
    auto record = registry.RegisterWithArtifact(bundle);
    ASSERT_THAT(record, IsOk());
    EXPECT_EQ(record->artifact_uri, "pg://recsys.model_artifacts/" + bundle.version);
  }
  // A taken version: neither the row nor the artifact changes.
  ModelBundle again;
  again.version = "m1";
  again.algorithm = "als";
  EXPECT_EQ(registry.RegisterWithArtifact(again).status().code(), absl::StatusCode::kAlreadyExists);
  auto bytes = store.Get("m1");
  ASSERT_THAT(bytes, IsOk());
  auto parsed = ParseBundle(*bytes);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->version, "m1");
  EXPECT_EQ(parsed->algorithm, "popularity");
  EXPECT_EQ(parsed->params.at("k"), "1");
  EXPECT_EQ((*registry.Get("m2")).artifact_uri, PgArtifactUri("m2"));

  ASSERT_THAT(registry.Promote("m1"), IsOk());
  auto pruned = registry.Prune(1);  // keeps m3 (newest) and m1 (promoted)
  ASSERT_THAT(pruned, IsOk());
  ASSERT_EQ(pruned->size(), 1u);
  EXPECT_EQ((*pruned)[0].version, "m2");
  EXPECT_EQ(store.Stat("m2").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(store.Stat("m1"), IsOk());
  EXPECT_THAT(store.Stat("m3"), IsOk());
  auto chunks = pool->Exec("SELECT count(*) FROM recsys.model_artifact_chunks WHERE version = 'm2'");
  ASSERT_THAT(chunks, IsOk());
  EXPECT_EQ((*chunks)[0][0].as<int>(), 0);
}

}  // namespace
}  // namespace marketlens::recommender
