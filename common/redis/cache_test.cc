// Cache against a real redis-server: hits, misses, TTLs, namespacing, invalidation, and failures
// turned into misses with rate-limited logging.
#include "common/redis/cache.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::redis {
namespace {

using ::marketlens::testing::IsOk;

using ::marketlens::testing::RedisServer;

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Create();
    ASSERT_THAT(server, IsOk()) << server.status();
    server_ = *std::move(server);
    RedisOptions options;
    options.host = server_->host();
    options.port = server_->port();
    options.name = "cache_test";
    client_ = std::make_unique<RedisClient>(options);
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(CacheTest, PutGetMissAndStats) {
  Cache cache(client_.get(), {.prefix = "recs:v1:"});
  EXPECT_FALSE(cache.Get("u1").has_value());
  cache.Put("u1", std::string("a\0b", 3), absl::Minutes(1));
  auto hit = cache.Get("u1");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(*hit, std::string("a\0b", 3));

  // Namespaced under the prefix, with the TTL set.
  EXPECT_EQ(client_->Get("recs:v1:u1")->value(), std::string("a\0b", 3));
  EXPECT_FALSE(client_->Get("u1")->has_value());
  int64_t pttl = client_->Command({"PTTL", "recs:v1:u1"})->integer();
  EXPECT_GT(pttl, 50'000);
  EXPECT_LE(pttl, 60'000);

  Cache::Stats stats = cache.stats();
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.errors, 0);
}

TEST_F(CacheTest, EntriesExpire) {
  Cache cache(client_.get(), {.prefix = "c:"});
  cache.Put("k", "v", absl::Milliseconds(100));
  EXPECT_TRUE(cache.Get("k").has_value());
  absl::SleepFor(absl::Milliseconds(250));
  EXPECT_FALSE(cache.Get("k").has_value());

  cache.Put("zero", "v", absl::ZeroDuration());  // Not cacheable: nothing stored.
  EXPECT_FALSE(client_->Get("c:zero")->has_value());
}

TEST_F(CacheTest, TwoCachesDoNotSeeEachOther) {
  Cache a(client_.get(), {.prefix = "a:"});
  Cache b(client_.get(), {.prefix = "b:"});
  a.Put("k", "from-a", absl::Minutes(1));
  EXPECT_FALSE(b.Get("k").has_value());
  b.Put("k", "from-b", absl::Minutes(1));
  EXPECT_EQ(a.Get("k").value(), "from-a");
  EXPECT_EQ(b.Get("k").value(), "from-b");
}

TEST_F(CacheTest, InvalidateKeyAndPrefix) {
  // Glob characters in the prefix are matched literally.
  Cache cache(client_.get(), {.prefix = "an[1]*:"});
  Cache other(client_.get(), {.prefix = "an1x:"});
  for (int i = 0; i < 1500; ++i) cache.Put(absl::StrCat("product:", i), "x", absl::Minutes(1));
  cache.Put("customer:1", "x", absl::Minutes(1));
  other.Put("product:1", "x", absl::Minutes(1));

  cache.Invalidate("product:0");
  EXPECT_FALSE(cache.Get("product:0").has_value());
  EXPECT_TRUE(cache.Get("product:1").has_value());

  EXPECT_EQ(cache.InvalidatePrefix("product:"), 1499);
  EXPECT_FALSE(cache.Get("product:1").has_value());
  EXPECT_FALSE(cache.Get("product:1499").has_value());
  EXPECT_TRUE(cache.Get("customer:1").has_value());
  EXPECT_TRUE(other.Get("product:1").has_value()) << "another cache's keys are untouched";

  EXPECT_EQ(cache.InvalidatePrefix(""), 1);
  EXPECT_FALSE(cache.Get("customer:1").has_value());
  EXPECT_TRUE(other.Get("product:1").has_value());
}

TEST(EscapeGlobTest, EscapesSpecials) {
  EXPECT_EQ(EscapeGlob("a*b?c[d]e\\f"), "a\\*b\\?c\\[d\\]e\\\\f");
  EXPECT_EQ(EscapeGlob("plain:"), "plain:");
}

TEST_F(CacheTest, RedisErrorsAreMissesAndAreLoggedOncePerInterval) {
  std::vector<std::string> lines;
  absl::Mutex mu;
  logging::SetSinkForTesting([&](absl::string_view line) {
    absl::MutexLock lock(&mu);
    lines.emplace_back(line);
  });

  Cache cache(client_.get(), {.prefix = "c:", .log_interval = absl::Seconds(60)});
  // A key of the wrong type makes every GET fail with WRONGTYPE.
  ASSERT_THAT(client_->Command({"RPUSH", "c:broken", "x"}), IsOk());
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(cache.Get("broken").has_value());
  Cache::Stats stats = cache.stats();
  EXPECT_EQ(stats.errors, 50);
  EXPECT_EQ(stats.misses, 50);
  EXPECT_EQ(stats.hits, 0);

  logging::SetSinkForTesting(nullptr);
  int warnings = 0;
  for (const std::string& line : lines) {
    if (absl::StrContains(line, "redis cache unavailable")) {
      ++warnings;
      EXPECT_TRUE(absl::StrContains(line, "WRONGTYPE")) << line;
    }
  }
  EXPECT_EQ(warnings, 1);
}

}  // namespace
}  // namespace marketlens::redis
