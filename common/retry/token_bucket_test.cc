#include "common/retry/token_bucket.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/retry/clock.h"
#include "gtest/gtest.h"

namespace marketlens::retry {
namespace {

TEST(TokenBucketTest, AllowsTheBurstThenTheRate) {
  FakeClock clock;
  TokenBucket bucket(5, 2, &clock);
  EXPECT_EQ(bucket.TryAcquire(), absl::ZeroDuration());
  EXPECT_EQ(bucket.TryAcquire(), absl::ZeroDuration());
  // Empty: the next token comes after 1/5 s.
  EXPECT_EQ(bucket.TryAcquire(), absl::Milliseconds(200));
  clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(bucket.TryAcquire(), absl::Milliseconds(100));
  clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(bucket.TryAcquire(), absl::ZeroDuration());
}

TEST(TokenBucketTest, NeverHoldsMoreThanTheBurst) {
  FakeClock clock;
  TokenBucket bucket(5, 3, &clock);
  clock.Advance(absl::Hours(1));
  int allowed = 0;
  while (bucket.TryAcquire() == absl::ZeroDuration()) ++allowed;
  EXPECT_EQ(allowed, 3);
}

TEST(TokenBucketTest, AcquireWaitsOnTheClockAndRespectsTheDeadline) {
  FakeClock clock;
  TokenBucket bucket(5, 1, &clock);
  const absl::Time start = clock.Now();
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(bucket.Acquire(start + absl::Seconds(10)));
  // 1 from the burst, then 10 at 5/s.
  EXPECT_EQ(clock.Now() - start, absl::Seconds(2));
  EXPECT_FALSE(bucket.Acquire(clock.Now() + absl::Milliseconds(50)));
}

TEST(TokenBucketTest, SustainedRateOverOneSimulatedMinute) {
  FakeClock clock;
  TokenBucket bucket(5, 5, &clock);
  int allowed = 0;
  for (int ms = 0; ms < 60000; ms += 10) {
    if (bucket.TryAcquire() == absl::ZeroDuration()) ++allowed;
    clock.Advance(absl::Milliseconds(10));
  }
  EXPECT_GE(allowed, 300);
  EXPECT_LE(allowed, 305);  // 5/s * 60 s + the initial burst
}

TEST(TokenBucketTest, ThreadSafeUnderContention) {
  TokenBucket bucket(1e-6, 1000);  // effectively no refill during the test
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (bucket.TryAcquire() == absl::ZeroDuration()) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

TEST(KeyedRateLimiterTest, KeysHaveIndependentBuckets) {
  FakeClock clock;
  KeyedRateLimiter limiter(5, 2, &clock);
  EXPECT_EQ(limiter.TryAcquire("a"), absl::ZeroDuration());
  EXPECT_EQ(limiter.TryAcquire("a"), absl::ZeroDuration());
  EXPECT_GT(limiter.TryAcquire("a"), absl::ZeroDuration());
  EXPECT_EQ(limiter.TryAcquire("b"), absl::ZeroDuration());
}

TEST(KeyedRateLimiterTest, IdleKeysAreForgotten) {
  FakeClock clock;
  KeyedRateLimiter limiter(5, 2, &clock);
  for (int i = 0; i < 100; ++i) limiter.TryAcquire(absl::StrCat("caller-", i));
  EXPECT_EQ(limiter.tracked_keys(), 100u);
  clock.Advance(absl::Seconds(1));
  limiter.TryAcquire("new");
  EXPECT_EQ(limiter.tracked_keys(), 1u);
}

}  // namespace
}  // namespace marketlens::retry
