// Retry(policy, deadline, fn): calls fn until it succeeds, fails with a non-retryable error, runs out of
// attempts, or would pass the deadline. Waits between tries follow FullJitterDelay. fn returns
// absl::Status or absl::StatusOr<T>; the last result is returned (DEADLINE_EXCEEDED naming the last error
// when the deadline cuts the retries short).
//
//   auto page = retry::Retry(policy, absl::Now() + absl::Seconds(30), [&] { return FetchPage(token); });
#ifndef MARKETLENS_COMMON_RETRY_RETRY_H_
#define MARKETLENS_COMMON_RETRY_RETRY_H_

#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/retry/backoff.h"
#include "common/retry/clock.h"

namespace marketlens::retry {

namespace internal {
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace internal

struct RetryOptions {
  std::function<bool(const absl::Status&)> is_retryable = IsTransient;
  Clock* clock = Clock::Real();
  // Called before each wait: (attempt that failed, its status, the wait). For logs and metrics.
  std::function<void(int, const absl::Status&, absl::Duration)> on_retry;
};

template <typename Fn>
auto Retry(const BackoffPolicy& policy, absl::Time deadline, Fn&& fn, const RetryOptions& options = {})
    -> std::invoke_result_t<Fn&> {
  using Result = std::invoke_result_t<Fn&>;
  for (int attempt = 0;; ++attempt) {
    Result result = fn();
    const absl::Status& status = internal::StatusOf(result);
    if (status.ok() || !options.is_retryable(status)) return result;
    if (policy.max_attempts > 0 && attempt + 1 >= policy.max_attempts) return result;
    const absl::Duration wait = FullJitterDelay(policy, attempt);
    if (options.clock->Now() + wait >= deadline) {
      return Result(absl::DeadlineExceededError(
          absl::StrCat("deadline reached after ", attempt + 1, " tries; last error: ", status.ToString())));
    }
    if (options.on_retry) options.on_retry(attempt, status, wait);
    options.clock->SleepFor(wait);
  }
}

}  // namespace marketlens::retry

#endif  // MARKETLENS_COMMON_RETRY_RETRY_H_
