// Exponential backoff with "full jitter" (AWS architecture blog): the n-th wait is uniform in
// [0, min(max, initial * multiplier^n)], which spreads retrying clients apart instead of synchronising them.
#ifndef MARKETLENS_COMMON_RETRY_BACKOFF_H_
#define MARKETLENS_COMMON_RETRY_BACKOFF_H_

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace marketlens::retry {

struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(100);
  absl::Duration max = absl::Seconds(5);
  double multiplier = 2.0;
  // Total tries including the first; 0 means no limit (only the deadline stops retries).
  int max_attempts = 5;
};

// The upper bound of the wait after `attempt` failed tries (attempt 0 = after the first failure).
absl::Duration BackoffCeiling(const BackoffPolicy& policy, int attempt);

// A random wait in [0, BackoffCeiling(policy, attempt)].
absl::Duration FullJitterDelay(const BackoffPolicy& policy, int attempt);
absl::Duration FullJitterDelay(const BackoffPolicy& policy, int attempt, absl::BitGenRef gen);

// The codes worth retrying for an idempotent call: the server may succeed next time.
bool IsTransient(const absl::Status& status);

}  // namespace marketlens::retry

#endif  // MARKETLENS_COMMON_RETRY_BACKOFF_H_
