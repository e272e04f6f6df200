// A clock that tests can drive by hand, so that backoff and rate limits are tested without sleeping.
#ifndef MARKETLENS_COMMON_RETRY_CLOCK_H_
#define MARKETLENS_COMMON_RETRY_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace marketlens::retry {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  virtual void SleepFor(absl::Duration d) = 0;

  // The process-wide real clock.
  static Clock* Real();
};

// Time stands still until advanced; SleepFor advances it (and records what was slept).
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::UnixEpoch() + absl::Hours(24 * 365 * 50)) : now_(start) {}
  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void SleepFor(absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    now_ += d;
    slept_ += d;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  absl::Duration total_slept() {
    absl::MutexLock lock(&mu_);
    return slept_;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_;
  absl::Duration slept_ = absl::ZeroDuration();
};

}  // namespace marketlens::retry

#endif  // MARKETLENS_COMMON_RETRY_CLOCK_H_
