#include "common/retry/retry.h"

#include <vector>

#include "absl/random/random.h"
#include "common/retry/backoff.h"
#include "common/retry/clock.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::retry {
namespace {

using ::marketlens::testing::IsOk;

TEST(BackoffTest, CeilingGrowsExponentiallyUpToTheMax) {
  BackoffPolicy p{.initial = absl::Milliseconds(100), .max = absl::Seconds(1), .multiplier = 2};
  EXPECT_EQ(BackoffCeiling(p, 0), absl::Milliseconds(100));
  EXPECT_EQ(BackoffCeiling(p, 1), absl::Milliseconds(200));
  EXPECT_EQ(BackoffCeiling(p, 3), absl::Milliseconds(800));
  EXPECT_EQ(BackoffCeiling(p, 4), absl::Seconds(1));
  EXPECT_EQ(BackoffCeiling(p, 1000), absl::Seconds(1));
}

TEST(BackoffTest, FullJitterIsSpreadOverTheWholeRange) {
  BackoffPolicy p{.initial = absl::Milliseconds(100), .max = absl::Seconds(10)};
  absl::BitGen gen;
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (int i = 0; i < 2000; ++i) {
    absl::Duration d = FullJitterDelay(p, 2, gen);  // ceiling 400 ms
    ASSERT_GE(d, absl::ZeroDuration());
    ASSERT_LE(d, absl::Milliseconds(400));
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  // Full jitter: values near both ends of [0, 400ms] occur (not a fixed or "equal jitter" wait).
  EXPECT_LT(lo, absl::Milliseconds(40));
  EXPECT_GT(hi, absl::Milliseconds(360));
}

TEST(BackoffTest, TransientCodes) {
  EXPECT_TRUE(IsTransient(absl::UnavailableError("x")));
  EXPECT_TRUE(IsTransient(absl::DeadlineExceededError("x")));
  EXPECT_TRUE(IsTransient(absl::AbortedError("x")));
  EXPECT_TRUE(IsTransient(absl::ResourceExhaustedError("x")));
  EXPECT_FALSE(IsTransient(absl::InvalidArgumentError("x")));
  EXPECT_FALSE(IsTransient(absl::NotFoundError("x")));
  EXPECT_FALSE(IsTransient(absl::InternalError("x")));
}

TEST(RetryTest, RetriesTransientErrorsUntilSuccess) {
  FakeClock clock;
  int calls = 0;
  absl::StatusOr<int> r = Retry(
      BackoffPolicy{.max_attempts = 5}, clock.Now() + absl::Minutes(1),
      [&]() -> absl::StatusOr<int> {
        if (++calls < 3) return absl::UnavailableError("down");
        return 42;
      },
      RetryOptions{.clock = &clock});
  ASSERT_THAT(r, IsOk()) << r.status();
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 3);
  EXPECT_LE(clock.total_slept(), absl::Milliseconds(100 + 200));
}

TEST(RetryTest, StopsAtANonRetryableError) {
  FakeClock clock;
  int calls = 0;
  absl::Status s = Retry(
      BackoffPolicy{}, clock.Now() + absl::Minutes(1),
      [&] {
        ++calls;
        return absl::InvalidArgumentError("bad");
      },
      RetryOptions{.clock = &clock});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock.total_slept(), absl::ZeroDuration());
}

TEST(RetryTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  FakeClock clock;
  int calls = 0;
  std::vector<int> retried;
  absl::Status s = Retry(
      BackoffPolicy{.max_attempts = 4}, clock.Now() + absl::Hours(1),
      [&] { return absl::UnavailableError(absl::StrCat("try ", ++calls)); },
      RetryOptions{.clock = &clock, .on_retry = [&](int attempt, const absl::Status&, absl::Duration) {
                     retried.push_back(attempt);
                   }});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "try 4");
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(retried, (std::vector<int>{0, 1, 2}));
}

TEST(RetryTest, NeverSleepsPastTheDeadline) {
  FakeClock clock;
  const absl::Time deadline = clock.Now() + absl::Milliseconds(500);
  absl::Status s = Retry(
      BackoffPolicy{.initial = absl::Milliseconds(100), .max = absl::Seconds(10), .max_attempts = 0},
      deadline, [&] { return absl::UnavailableError("down"); }, RetryOptions{.clock = &clock});
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("down"), std::string::npos);
  EXPECT_LE(clock.Now(), deadline);
}

}  // namespace
}  // namespace marketlens::retry
