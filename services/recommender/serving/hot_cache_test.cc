// The hot-list cache against a real Redis: hits after the first computation, and Redis down = misses.
#include "services/recommender/serving/hot_cache.h"

#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(HotCacheTest, EncodeDecode) {
  std::vector<Candidate> c = {{"a", 1.5, "popular in Kitchen this week", "popular"}, {"b", -2, "", "als"}};
  auto back = DecodeCandidates(EncodeCandidates(c));
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].reason, "popular in Kitchen this week");
  EXPECT_EQ((*back)[1].score, -2);
  EXPECT_FALSE(DecodeCandidates("garbage line\n").has_value());
  // Borrowed reasons are written whole; sources come back as the literals; another source is not a list
  // this version wrote.
  const std::string title = "Chef knife";
  std::vector<Candidate> borrowed = {
      {"k", 1, ReasonText::Borrowed("because you bought ", title), "item_knn"}};
  back = DecodeCandidates(EncodeCandidates(borrowed));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ((*back)[0].reason, "because you bought Chef knife");
  EXPECT_EQ((*back)[0].source.data(), kCandidateSources[2].data());
  EXPECT_FALSE(DecodeCandidates("a\t1\tsomething_else\treason\n").has_value());
}

TEST(HotCacheTest, HitsMissesAndRedisDown) {
  auto server = marketlens::testing::RedisServer::Create();
  ASSERT_THAT(server, IsOk());
  redis::RedisOptions options;
  options.port = (*server)->port();
  redis::RedisClient client(options);
  HotListCache cache(&client, absl::Minutes(1), std::make_shared<prometheus::Registry>());
  int computed = 0;
  auto compute = [&] {
    ++computed;
    return std::vector<Candidate>{{"x", 1, "r", "popular"}};
  };
  EXPECT_EQ(cache.GetOrCompute("popular", "k1", compute)[0].item_id, "x");
  EXPECT_EQ(cache.GetOrCompute("popular", "k1", compute)[0].item_id, "x");
  EXPECT_EQ(computed, 1);
  EXPECT_EQ(cache.hits(), 1);
  EXPECT_EQ(cache.misses(), 1);
  ASSERT_THAT((*server)->Stop(), IsOk());
  EXPECT_EQ(cache.GetOrCompute("popular", "k1", compute).size(), 1u);  // computed again, no error
  EXPECT_EQ(computed, 2);
  // No Redis at all.
  HotListCache none(nullptr, absl::Minutes(1), std::make_shared<prometheus::Registry>());
  EXPECT_EQ(none.GetOrCompute("similar", "k", compute).size(), 1u);
  EXPECT_EQ(none.misses(), 1);
}

}  // namespace
}  // namespace marketlens::recommender
