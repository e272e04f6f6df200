// Per-API-key rate limits: a token bucket per key, refilled at the key's own rate (or the gateway's
// default), holding `burst_seconds` worth of requests. A refused request learns how long to wait, which the
// gateway returns as Retry-After (whole seconds, at least 1) with 429.
//
// Built on retry::KeyedRateLimiter, which has one rate for all its keys: keys with different rates get
// different limiters (there are only a few distinct rates in practice).
#ifndef MARKETLENS_SERVICES_GATEWAY_RATE_LIMITER_H_
#define MARKETLENS_SERVICES_GATEWAY_RATE_LIMITER_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/retry/clock.h"
#include "common/retry/token_bucket.h"

namespace marketlens::gateway {

class PerKeyRateLimiter {
 public:
  // default_rate > 0; burst_seconds > 0 (the bucket holds max(1, rate * burst_seconds) tokens).
  PerKeyRateLimiter(double default_rate_per_second, double burst_seconds,
                    retry::Clock* clock = retry::Clock::Real());

  // Zero when the request may go ahead; otherwise how long until it would. rate_per_second <= 0: default.
  absl::Duration Acquire(absl::string_view key, int rate_per_second);

  // Retry-After value for a wait: whole seconds, rounded up, at least 1.
  static int RetryAfterSeconds(absl::Duration wait);

 private:
  retry::KeyedRateLimiter* LimiterFor(double rate) ABSL_LOCKS_EXCLUDED(mu_);

  const double default_rate_;
  const double burst_seconds_;
  retry::Clock* const clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, std::unique_ptr<retry::KeyedRateLimiter>> by_rate_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_RATE_LIMITER_H_
