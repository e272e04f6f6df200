// RedisClient against a real redis-server: strings, TTLs, binary safety, error mapping, AUTH/SELECT and
// the connection pool under concurrency.
#include "common/redis/client.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::redis {
namespace {

using ::marketlens::testing::IsOk;

using ::marketlens::testing::RedisServer;
using ::marketlens::testing::RedisServerOptions;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Create();
    ASSERT_THAT(server, IsOk()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<RedisClient>(Options());
  }

  RedisOptions Options() const {
    RedisOptions options;
    options.host = server_->host();
    options.port = server_->port();
    options.name = "client_test";
    return options;
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisClientTest, SetGetDel) {
  ASSERT_THAT(client_->Set("k", "v"), IsOk());
  auto got = client_->Get("k");
  ASSERT_THAT(got, IsOk()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, "v");

  auto missing = client_->Get("missing");
  ASSERT_THAT(missing, IsOk()) << missing.status();
  EXPECT_FALSE(missing->has_value());

  auto removed = client_->Del({"k", "missing"});
  ASSERT_THAT(removed, IsOk()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(client_->Get("k")->has_value());
  EXPECT_EQ(*client_->Del(std::vector<std::string>{}), 0);
  EXPECT_THAT(client_->Ping(), IsOk());
}

TEST_F(RedisClientTest, TtlExpiry) {
  ASSERT_THAT(client_->Set("short", "v", absl::Milliseconds(100)), IsOk());
  ASSERT_THAT(client_->Set("long", "v", absl::Minutes(5)), IsOk());
  ASSERT_THAT(client_->Set("forever", "v"), IsOk());
  auto pttl = client_->Command({"PTTL", "short"});
  ASSERT_THAT(pttl, IsOk()) << pttl.status();
  EXPECT_GT(pttl->integer(), 0);
  EXPECT_LE(pttl->integer(), 100);
  EXPECT_EQ(client_->Command({"PTTL", "forever"})->integer(), -1);

  ASSERT_THAT(client_->Set("expire_me", "v"), IsOk());
  auto expired = client_->Expire("expire_me", absl::Milliseconds(100));
  ASSERT_THAT(expired, IsOk()) << expired.status();
  EXPECT_TRUE(*expired);
  EXPECT_FALSE(*client_->Expire("no_such_key", absl::Seconds(1)));

  absl::SleepFor(absl::Milliseconds(250));
  EXPECT_FALSE(client_->Get("short")->has_value());
  EXPECT_FALSE(client_->Get("expire_me")->has_value());
  EXPECT_TRUE(client_->Get("long")->has_value());
  EXPECT_TRUE(client_->Get("forever")->has_value());

  EXPECT_EQ(client_->Set("k", "v", absl::ZeroDuration()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Set("k", "v", -absl::Seconds(1)).code(), absl::StatusCode::kInvalidArgument);
  // Sub-millisecond TTLs round up instead of becoming "PX 0" (an error in Redis).
  EXPECT_THAT(client_->Set("tiny", "v", absl::Microseconds(10)), IsOk());
}

TEST_F(RedisClientTest, BinarySafeKeysAndValues) {
  const std::string key("key\0with\r\nstuff", 15);
  std::string value;
  for (int round = 0; round < 4096; ++round) {
    for (int b = 0; b < 256; ++b) value.push_back(static_cast<char>(b));
  }  // 1 MiB containing every byte value, NULs and CRLFs included.
  ASSERT_THAT(client_->Set(key, value), IsOk());
  // The key is really the 15 bytes, not "key".
  EXPECT_FALSE(client_->Get("key")->has_value());
  auto got = client_->Get(key);
  ASSERT_THAT(got, IsOk()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(got->value().size(), value.size());
  EXPECT_TRUE(**got == value);

  auto strlen = client_->Command({"STRLEN", key});
  ASSERT_THAT(strlen, IsOk());
  EXPECT_EQ(strlen->integer(), static_cast<int64_t>(value.size()));

  ASSERT_THAT(client_->Set("empty", ""), IsOk());
  EXPECT_EQ(client_->Get("empty")->value(), "");
}

TEST_F(RedisClientTest, IncrAndExpire) {
  EXPECT_EQ(*client_->Incr("n"), 1);
  EXPECT_EQ(*client_->Incr("n", 5), 6);
  EXPECT_EQ(*client_->Incr("n", -10), -4);
}

TEST_F(RedisClientTest, ErrorRepliesBecomeStatuses) {
  ASSERT_THAT(client_->Command({"RPUSH", "list", "a"}), IsOk());
  auto wrongtype = client_->Get("list");
  EXPECT_EQ(wrongtype.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(wrongtype.status().message(), "WRONGTYPE")) << wrongtype.status();

  ASSERT_THAT(client_->Set("text", "abc"), IsOk());
  EXPECT_EQ(client_->Incr("text").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Command({"NOSUCHCOMMAND"}).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(client_->Command({"GET"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Command({}).status().code(), absl::StatusCode::kInvalidArgument);

  // Error replies do not poison the connection: the same client keeps working on it.
  EXPECT_THAT(client_->Set("after", "ok"), IsOk());
  EXPECT_EQ(client_->Get("after")->value(), "ok");
  EXPECT_EQ(client_->stats().open_connections, 1);
}

TEST_F(RedisClientTest, ReplyTypes) {
  auto pong = client_->Command({"PING"});
  ASSERT_THAT(pong, IsOk());
  EXPECT_TRUE(pong->is_status());
  EXPECT_EQ(pong->str(), "PONG");

  ASSERT_THAT(client_->Command({"RPUSH", "l", "x", "y"}), IsOk());
  auto range = client_->Command({"LRANGE", "l", "0", "-1"});
  ASSERT_THAT(range, IsOk());
  EXPECT_EQ(*range, Reply::Array({Reply::String("x"), Reply::String("y")}));

  // Nested arrays, nil and a nested error from a script (the top-level reply is not an error).
  auto nested = client_->Command({"EVAL", "return {1, {'a', false}, redis.error_reply('MYERR boom')}", "0"});
  ASSERT_THAT(nested, IsOk()) << nested.status();
  ASSERT_TRUE(nested->is_array()) << *nested;
  ASSERT_EQ(nested->size(), 3u) << *nested;
  EXPECT_EQ((*nested)[0], Reply::Integer(1));
  EXPECT_EQ((*nested)[1], Reply::Array({Reply::String("a"), Reply::Nil()}));
  EXPECT_TRUE((*nested)[2].is_error());
  EXPECT_EQ((*nested)[2].str(), "MYERR boom");
}

TEST_F(RedisClientTest, PoolIsSharedByManyThreads) {
  RedisOptions options = Options();
  options.pool_size = 4;
  options.pool_wait = absl::Seconds(2);  // Contention is expected here; exhaustion is tested below.
  RedisClient client(options);
  constexpr int kThreads = 16;
  constexpr int kOps = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        if (!client.Incr("counter").ok()) ++failures;
        std::string key = absl::StrCat("t", t, ":", i % 10);
        std::string value = absl::StrCat("value-", t, "-", i);
        if (!client.Set(key, value).ok()) ++failures;
        auto got = client.Get(key);
        if (!got.ok() || !got->has_value() || **got != value) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(client.Get("counter")->value(), absl::StrCat(kThreads * kOps));
  RedisClient::Stats stats = client.stats();
  EXPECT_LE(stats.open_connections, 4);
  EXPECT_LE(stats.connects, 4) << "connections are reused, not made per command";
  EXPECT_EQ(stats.errors, 0);
}

TEST_F(RedisClientTest, ExhaustedPoolFailsAfterABriefWait) {
  RedisOptions options = Options();
  options.pool_size = 1;
  options.pool_wait = absl::Milliseconds(50);
  RedisClient client(options);
  ASSERT_THAT(client.Ping(), IsOk());
  std::thread blocker([&] {
    // Holds the only connection for ~400 ms.
    auto r = client.Command({"BLPOP", "nothing", "0.4"}, absl::Seconds(2));
    EXPECT_THAT(r, IsOk()) << r.status();
  });
  absl::SleepFor(absl::Milliseconds(100));
  absl::Time start = absl::Now();
  auto got = client.Get("k");
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted) << got.status();
  EXPECT_GE(elapsed, absl::Milliseconds(45));
  EXPECT_LT(elapsed, absl::Milliseconds(250));
  blocker.join();
  EXPECT_THAT(client.Get("k"), IsOk()) << "the connection came back to the pool";
}

TEST(RedisClientAuthTest, PasswordAndDatabase) {
  RedisServerOptions server_options;
  server_options.password = "test-only-password";  // A throwaway server's password, not a secret.
  auto server = RedisServer::Create(server_options);
  ASSERT_THAT(server, IsOk()) << server.status();

  RedisOptions options;
  options.host = (*server)->host();
  options.port = (*server)->port();

  {
    RedisClient no_password(options);
    auto r = no_password.Get("k");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  }
  {
    RedisOptions wrong = options;
    wrong.password = "not-the-password-xyz";
    RedisClient client(wrong);
    auto r = client.Get("k");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
    EXPECT_FALSE(absl::StrContains(r.status().message(), "xyz")) << "password must not leak";
  }

  options.password = server_options.password;
  RedisClient db0(options);
  options.db = 3;
  RedisClient db3(options);
  ASSERT_THAT(db3.Set("k", "in-db-3"), IsOk());
  EXPECT_EQ(db3.Get("k")->value(), "in-db-3");
  auto in_db0 = db0.Get("k");
  ASSERT_THAT(in_db0, IsOk()) << in_db0.status();
  EXPECT_FALSE(in_db0->has_value());
}

}  // namespace
}  // namespace marketlens::redis
