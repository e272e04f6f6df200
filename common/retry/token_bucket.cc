#include "common/retry/token_bucket.h"

#include <algorithm>

namespace marketlens::retry {
namespace {

// Refills `tokens` for the time since `last`; returns the new count.
double Refilled(double tokens, absl::Time last, absl::Time now, double rate, double burst) {
  if (now <= last) return tokens;
  return std::min(burst, tokens + absl::ToDoubleSeconds(now - last) * rate);
}

absl::Duration WaitFor(double missing, double rate) { return absl::Seconds(missing / rate); }

}  // namespace

TokenBucket::TokenBucket(double rate_per_second, double burst, Clock* clock)
    : rate_(std::max(rate_per_second, 1e-9)),
      burst_(std::max(burst, 1.0)),
      clock_(clock),
      tokens_(burst_),
      last_(clock->Now()) {}

void TokenBucket::RefillLocked(absl::Time now) {
  tokens_ = Refilled(tokens_, last_, now, rate_, burst_);
  if (now > last_) last_ = now;
}

absl::Duration TokenBucket::TryAcquire(double tokens) {
  absl::MutexLock lock(&mu_);
  RefillLocked(clock_->Now());
  if (tokens_ >= tokens) {
    tokens_ -= tokens;
    return absl::ZeroDuration();
  }
  return WaitFor(tokens - tokens_, rate_);
}

bool TokenBucket::Acquire(absl::Time deadline, double tokens) {
  for (;;) {
    const absl::Duration wait = TryAcquire(tokens);
    if (wait == absl::ZeroDuration()) return true;
    if (clock_->Now() + wait > deadline) return false;
    clock_->SleepFor(wait);
  }
}

KeyedRateLimiter::KeyedRateLimiter(double rate_per_second, double burst, Clock* clock)
    : rate_(std::max(rate_per_second, 1e-9)),
      burst_(std::max(burst, 1.0)),
      clock_(clock),
      last_sweep_(clock->Now()) {}

absl::Duration KeyedRateLimiter::TryAcquire(absl::string_view key, double tokens) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  SweepLocked(now);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  b.tokens = Refilled(b.tokens, b.last, now, rate_, burst_);
  if (now > b.last) b.last = now;
  if (b.tokens >= tokens) {
    b.tokens -= tokens;
    return absl::ZeroDuration();
  }
  return WaitFor(tokens - b.tokens, rate_);
}

size_t KeyedRateLimiter::tracked_keys() {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

void KeyedRateLimiter::SweepLocked(absl::Time now) {
  // A bucket that has refilled completely behaves exactly like a new one, so it can be forgotten.
  const absl::Duration full_after = absl::Seconds(burst_ / rate_);
  if (now - last_sweep_ < full_after) return;
  last_sweep_ = now;
  absl::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.last >= full_after; });
}

}  // namespace marketlens::retry
