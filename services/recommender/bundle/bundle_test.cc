#include "services/recommender/bundle/bundle.h"

#include <cstdlib>
#include <cstring>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/bundle/trainer.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

ModelBundle Small() {
  SyntheticData s =
      GenerateSynthetic({.users = 60, .items = 30, .clusters = 3, .events_per_user = 8, .shop_events = true});
  absl::flat_hash_map<std::string, std::string> regions = {{"u1", "DE"}, {"u2", "US"}};
  TrainConfig config;
  config.params = {{"als.factors", "4"}, {"als.iterations", "2"}};
  config.hygiene.min_user_interactions = 1;
  config.hygiene.min_item_interactions = 1;
  config.evaluate = false;
  config.version = "v-test";
  auto r = TrainBundle({.log = &s.log, .catalog = &s.catalog, .user_region = &regions}, config);
  EXPECT_THAT(r, IsOk());
  return r->bundle;
}

TEST(BundleTest, RoundTrip) {
  ModelBundle b = Small();
  const std::string bytes = SerializeBundle(b);
  auto back = ParseBundle(bytes);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->version, "v-test");
  EXPECT_EQ(back->algorithm, "hybrid");
  EXPECT_EQ(back->users.names(), b.users.names());
  EXPECT_EQ(back->items.names(), b.items.names());
  EXPECT_EQ(back->user_items.indices, b.user_items.indices);
  EXPECT_EQ(back->user_item_kind, b.user_item_kind);
  EXPECT_EQ(back->item_factors, b.item_factors);
  EXPECT_EQ(back->item_neighbors.values, b.item_neighbors.values);
  EXPECT_EQ(back->copurchase.indices, b.copurchase.indices);
  EXPECT_EQ(back->pop_region.size(), 2u);
  EXPECT_EQ(back->params, b.params);
  EXPECT_EQ(back->metrics, b.metrics);
  EXPECT_EQ(back->w_item_knn, b.w_item_knn);
  EXPECT_EQ(SerializeBundle(*back), bytes);

  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/m.bin";
  ASSERT_THAT(WriteBundleFile(b, path), IsOk());
  auto file = ReadBundleFile(path);
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->version, "v-test");
  EXPECT_EQ(ReadBundleFile(path + ".missing").status().code(), absl::StatusCode::kNotFound);
}

TEST(BundleTest, CorruptionIsDataLoss) {
  const std::string bytes = SerializeBundle(Small());
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  EXPECT_EQ(ParseBundle(flipped).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseBundle(bytes.substr(0, bytes.size() - 10)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseBundle("hello").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseBundle("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(BundleTest, ValidateCatchesInconsistentArrays) {
  ModelBundle b = Small();
  ASSERT_THAT(b.Validate(), IsOk());
  b.pop_recent.pop_back();
  EXPECT_EQ(b.Validate().code(), absl::StatusCode::kDataLoss);
  b = Small();
  b.item_factors.pop_back();
  EXPECT_FALSE(b.Validate().ok());
  b = Small();
  b.item_neighbors.indices[0] = 10000;
  EXPECT_FALSE(b.Validate().ok());
}

TEST(BundleTest, HelpersAndArtifactUris) {
  EXPECT_STREQ(ItemKindVerb(ItemKind::kBought), "bought");
  EXPECT_EQ(DaypartOfHour(5), 0);
  EXPECT_EQ(DaypartOfHour(19), 3);
  EXPECT_STREQ(DaypartName(1), "this morning");
  EXPECT_EQ(*ArtifactPath("file:///var/m.bin"), "/var/m.bin");
  EXPECT_EQ(*ArtifactPath("/var/m.bin"), "/var/m.bin");
  EXPECT_EQ(ArtifactPath("s3://b/m.bin").status().code(), absl::StatusCode::kUnimplemented);
}

// Artifacts written before the NCF section (format 1: the same payload without its 56 trailing bytes)
// still load, so replicas keep serving models registered before the upgrade.
TEST(BundleTest, ReadsFormatOneArtifacts) {
  ModelBundle b = Small();
  const std::string v2 = SerializeBundle(b);
  std::string payload = v2.substr(24, v2.size() - 24 - 56);  // ncf sizes (2 x 4) + 6 empty vectors (6 x 8)
  const uint32_t one = 1;
  std::memcpy(payload.data(), &one, 4);
  uint64_t sum = 1469598103934665603ull;  // FNV-1a-64, as the format
  for (unsigned char c : payload) sum = (sum ^ c) * 1099511628211ull;
  const uint64_t size = payload.size();
  std::string v1 = v2.substr(0, 8);
  v1.append(reinterpret_cast<const char*>(&size), 8);
  v1.append(reinterpret_cast<const char*>(&sum), 8);
  v1.append(payload);
  auto back = ParseBundle(v1);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->item_factors, b.item_factors);
  EXPECT_EQ(back->ncf_factors, 0);
  EXPECT_EQ(back->w_popularity, b.w_popularity);
}

}  // namespace
}  // namespace marketlens::recommender
