#include "services/gateway/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace marketlens::gateway {

PerKeyRateLimiter::PerKeyRateLimiter(double default_rate_per_second, double burst_seconds,
                                     retry::Clock* clock)
    : default_rate_(default_rate_per_second), burst_seconds_(burst_seconds), clock_(clock) {}

retry::KeyedRateLimiter* PerKeyRateLimiter::LimiterFor(double rate) {
  const int64_t key = std::llround(rate * 1000);
  absl::MutexLock lock(&mu_);
  auto& limiter = by_rate_[key];
  if (limiter == nullptr) {
    limiter = std::make_unique<retry::KeyedRateLimiter>(rate, std::max(1.0, rate * burst_seconds_), clock_);
  }
  return limiter.get();
}

absl::Duration PerKeyRateLimiter::Acquire(absl::string_view key, int rate_per_second) {
  const double rate = rate_per_second > 0 ? static_cast<double>(rate_per_second) : default_rate_;
  return LimiterFor(rate)->TryAcquire(key);
}

int PerKeyRateLimiter::RetryAfterSeconds(absl::Duration wait) {
  const double seconds = absl::ToDoubleSeconds(wait);
  return std::max(1, static_cast<int>(std::ceil(seconds)));
}

}  // namespace marketlens::gateway
