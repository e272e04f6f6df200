// A token bucket: `rate` tokens a second, holding at most `burst`. Thread-safe.
// Used on both sides of a rate limit: the marketplace refuses calls past it, the collector waits under it.
#ifndef MARKETLENS_COMMON_RETRY_TOKEN_BUCKET_H_
#define MARKETLENS_COMMON_RETRY_TOKEN_BUCKET_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/retry/clock.h"

namespace marketlens::retry {

class TokenBucket {
 public:
  // Starts full. rate > 0, burst >= 1.
  TokenBucket(double rate_per_second, double burst, Clock* clock = Clock::Real());

  // Takes `tokens` if available and returns zero; otherwise takes nothing and returns how long until
  // they would be available.
  absl::Duration TryAcquire(double tokens = 1);

  // Waits (sleeping on the clock) until `tokens` are taken; false if that would pass `deadline`.
  bool Acquire(absl::Time deadline, double tokens = 1);

  double rate() const { return rate_; }
  double burst() const { return burst_; }

 private:
  void RefillLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double rate_;
  const double burst_;
  Clock* const clock_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ ABSL_GUARDED_BY(mu_);
};

// One bucket per key (caller, API key), created on first use; idle buckets are dropped once full again
// so the map cannot grow without bound.
class KeyedRateLimiter {
 public:
  KeyedRateLimiter(double rate_per_second, double burst, Clock* clock = Clock::Real());

  // Zero when allowed; otherwise the wait before a retry would be allowed.
  absl::Duration TryAcquire(absl::string_view key, double tokens = 1);

  size_t tracked_keys();

 private:
  struct Bucket {
    double tokens;
    absl::Time last;
  };
  void SweepLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double rate_;
  const double burst_;
  Clock* const clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::retry

#endif  // MARKETLENS_COMMON_RETRY_TOKEN_BUCKET_H_
