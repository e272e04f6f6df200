// What happens when Redis misbehaves: command timeouts, Redis going down and coming back, a hung
// (SIGSTOPped) server, and a restart between two calls. The promise under test: a call never hangs,
// fails fast while Redis is down, and the same client object recovers by itself.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/cache.h"
#include "common/redis/client.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::redis {
namespace {

using ::marketlens::testing::IsOk;

using ::marketlens::testing::RedisServer;

constexpr absl::Duration kFast = absl::Milliseconds(100);

class ResilienceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Create();
    ASSERT_THAT(server, IsOk()) << server.status();
    server_ = *std::move(server);
  }

  RedisOptions Options() const {
    RedisOptions options;
    options.host = server_->host();
    options.port = server_->port();
    options.name = "resilience_test";
    options.down_backoff = absl::Milliseconds(200);
    return options;
  }

  // Retries `fn` until it returns true or `limit` passes; returns how long it took.
  template <typename Fn>
  absl::Duration WaitUntil(Fn fn, absl::Duration limit) {
    absl::Time start = absl::Now();
    while (!fn()) {
      if (absl::Now() - start > limit) return absl::InfiniteDuration();
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::Now() - start;
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(ResilienceTest, CommandTimeoutIsBoundedAndTheClientKeepsWorking) {
  RedisClient client(Options());  // command_timeout 200 ms by default.
  ASSERT_THAT(client.Ping(), IsOk());

  absl::Time start = absl::Now();
  auto blocked = client.Command({"BLPOP", "empty-list", "5"});
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kDeadlineExceeded) << blocked.status();
  EXPECT_GE(elapsed, absl::Milliseconds(180));
  EXPECT_LT(elapsed, absl::Milliseconds(600));

  // A per-call timeout overrides the default.
  start = absl::Now();
  auto shorter = client.Command({"BLPOP", "empty-list", "5"}, absl::Milliseconds(50));
  elapsed = absl::Now() - start;
  EXPECT_EQ(shorter.status().code(), absl::StatusCode::kDeadlineExceeded) << shorter.status();
  EXPECT_LT(elapsed, absl::Milliseconds(300));

  // The timed-out connections were dropped (a late reply would desync them); new ones work.
  ASSERT_THAT(client.Set("k", "v"), IsOk());
  EXPECT_EQ(client.Get("k")->value(), "v");
  EXPECT_FALSE(client.IsDown()) << "isolated timeouts are not an outage";
  EXPECT_EQ(client.stats().timeouts, 2);
}

TEST_F(ResilienceTest, DownAndBack) {
  RedisClient client(Options());
  Cache cache(&client, {.prefix = "c:"});
  cache.Put("k", "v", absl::Minutes(1));
  ASSERT_EQ(cache.Get("k").value_or(""), "v");
  ASSERT_THAT(client.Set("direct", "x"), IsOk());  // Leaves pooled connections behind.

  ASSERT_THAT(server_->Stop(), IsOk());

  // For a while (several backoff periods, so probes happen too) every call is a quick failure.
  absl::Time outage_end = absl::Now() + absl::Milliseconds(700);
  int calls = 0;
  while (absl::Now() < outage_end) {
    absl::Time start = absl::Now();
    EXPECT_FALSE(cache.Get("k").has_value());
    EXPECT_LT(absl::Now() - start, kFast) << "cache Get while down, call " << calls;

    start = absl::Now();
    cache.Put("k", "v2", absl::Minutes(1));  // A no-op, silently.
    EXPECT_LT(absl::Now() - start, kFast);

    start = absl::Now();
    auto direct = client.Get("direct");
    EXPECT_LT(absl::Now() - start, kFast) << "client Get while down, call " << calls;
    EXPECT_EQ(direct.status().code(), absl::StatusCode::kUnavailable) << direct.status();
    ++calls;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GT(calls, 20);
  EXPECT_TRUE(client.IsDown());
  RedisClient::Stats down_stats = client.stats();
  EXPECT_GT(down_stats.fast_failures, calls) << "most calls never touched the network";
  EXPECT_GE(down_stats.connect_failures, 2) << "probes were made while down";
  EXPECT_LT(down_stats.connect_failures, calls / 2) << "but not one per call";
  EXPECT_EQ(down_stats.open_connections, 0);
  EXPECT_GT(cache.stats().errors, 0);

  ASSERT_THAT(server_->Start(), IsOk());

  // The same client and cache recover by themselves within about one backoff period.
  absl::Duration recovered_in = WaitUntil(
      [&] {
        cache.Put("k", "v3", absl::Minutes(1));
        return cache.Get("k") == std::optional<std::string>("v3");
      },
      absl::Seconds(3));
  EXPECT_LT(recovered_in, absl::Seconds(1));
  EXPECT_FALSE(client.IsDown());
  EXPECT_THAT(client.Set("direct", "y"), IsOk());
}

TEST_F(ResilienceTest, DownFromTheStart) {
  ASSERT_THAT(server_->Stop(), IsOk());
  // Constructing a client never blocks or fails, so a service starts without Redis.
  RedisClient client(Options());
  for (int i = 0; i < 10; ++i) {
    absl::Time start = absl::Now();
    EXPECT_EQ(client.Ping().code(), absl::StatusCode::kUnavailable);
    EXPECT_LT(absl::Now() - start, kFast);
  }
  ASSERT_THAT(server_->Start(), IsOk());
  EXPECT_LT(WaitUntil([&] { return client.Ping().ok(); }, absl::Seconds(3)), absl::Seconds(1));
}

TEST_F(ResilienceTest, RestartBetweenCallsIsInvisible) {
  RedisOptions options = Options();
  options.pool_size = 4;
  RedisClient client(options);
  // Fill the pool with idle connections.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] { EXPECT_THAT(client.Command({"BLPOP", "x", "0.05"}), IsOk()); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(client.stats().open_connections, 4);

  ASSERT_THAT(server_->Stop(), IsOk());
  ASSERT_THAT(server_->Start(), IsOk());

  // Every pooled connection is dead, but the first call notices (EOF), drops all of them and retries
  // once on a fresh connection: no error reaches the caller.
  auto set = client.Set("k", "v");
  EXPECT_THAT(set, IsOk()) << set;
  for (int i = 0; i < 5; ++i) EXPECT_THAT(client.Get("k"), IsOk());
  EXPECT_EQ(client.stats().errors, 0);
  EXPECT_EQ(client.stats().open_connections, 1);
}

TEST_F(ResilienceTest, HungServerTimesOutThenFailsFast) {
  RedisOptions options = Options();
  options.command_timeout = absl::Milliseconds(100);
  options.connect_timeout = absl::Milliseconds(100);
  options.down_after_timeouts = 2;
  options.down_backoff = absl::Milliseconds(300);
  RedisClient client(options);
  ASSERT_THAT(client.Ping(), IsOk());

  ASSERT_THAT(server_->Pause(), IsOk());
  // The first call waits out its timeout (the socket still accepts; nothing answers). The next one
  // either times out too or, on a new connection, fails the connect handshake (UNAVAILABLE).
  for (int i = 0; i < 2; ++i) {
    absl::Time start = absl::Now();
    auto r = client.Get("k");
    absl::Duration elapsed = absl::Now() - start;
    if (i == 0) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
    } else {
      EXPECT_TRUE(r.status().code() == absl::StatusCode::kDeadlineExceeded ||
                  r.status().code() == absl::StatusCode::kUnavailable)
          << r.status();
    }
    EXPECT_LT(elapsed, absl::Milliseconds(400));
  }
  // ...then the client is down and calls fail at once; a probe costs at most the connect timeout.
  EXPECT_TRUE(client.IsDown());
  absl::Time until = absl::Now() + absl::Milliseconds(800);
  int slow = 0;
  while (absl::Now() < until) {
    absl::Time start = absl::Now();
    auto r = client.Get("k");
    absl::Duration elapsed = absl::Now() - start;
    EXPECT_FALSE(r.ok());
    EXPECT_LT(elapsed, absl::Milliseconds(400));
    if (elapsed >= kFast) ++slow;  // Only the probes (one per backoff period).
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_LE(slow, 4);

  ASSERT_THAT(server_->Resume(), IsOk());
  EXPECT_LT(WaitUntil([&] { return client.Get("k").ok(); }, absl::Seconds(3)), absl::Seconds(1));
  EXPECT_FALSE(client.IsDown());
}

TEST_F(ResilienceTest, ManyThreadsThroughAnOutage) {
  RedisOptions options = Options();
  options.pool_size = 4;
  RedisClient client(options);
  Cache cache(&client, {.prefix = "t:"});
  std::atomic<bool> stop{false};
  std::atomic<int> slow_calls{0};
  std::atomic<int> ok_after_restart{0};
  std::atomic<bool> restarted{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      int i = 0;
      while (!stop.load()) {
        std::string key = absl::StrCat(t, ":", i++ % 20);
        absl::Time start = absl::Now();
        cache.Put(key, "v", absl::Minutes(1));
        bool hit = cache.Get(key).has_value();
        // Two calls; each bounded by a timeout, generous for a loaded 2-core machine.
        if (absl::Now() - start > absl::Milliseconds(500)) ++slow_calls;
        if (hit && restarted.load()) ++ok_after_restart;
        absl::SleepFor(absl::Milliseconds(1));
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_THAT(server_->Stop(), IsOk());
  absl::SleepFor(absl::Milliseconds(400));
  ASSERT_THAT(server_->Start(), IsOk());
  restarted = true;
  WaitUntil([&] { return ok_after_restart.load() > 100; }, absl::Seconds(3));
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(slow_calls.load(), 0);
  EXPECT_GT(ok_after_restart.load(), 100) << "all threads recovered through the same client";
  EXPECT_LE(client.stats().open_connections, 4);
}

}  // namespace
}  // namespace marketlens::redis
