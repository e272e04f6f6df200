// A circuit breaker for the LLM endpoint: after `failure_threshold` consecutive failures it opens and calls
// fail at once (the local engine answers) for `open_for`; then one probe call is let through (half-open):
// success closes the circuit, failure opens it again. A slow or broken provider thus costs one timeout per
// `open_for`, not one per request. Thread-safe.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_CIRCUIT_BREAKER_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_CIRCUIT_BREAKER_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace marketlens::analyzer::llm {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  CircuitBreaker(
      int failure_threshold, absl::Duration open_for,
      std::function<absl::Time()> now = [] { return absl::Now(); })
      : threshold_(failure_threshold), open_for_(open_for), now_(std::move(now)) {}

  // Whether a call may go out now (in half-open state only one probe at a time).
  bool Allow();
  void RecordSuccess();
  void RecordFailure();
  State state();

 private:
  const int threshold_;
  const absl::Duration open_for_;
  std::function<absl::Time()> now_;
  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kClosed;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time opened_at_ ABSL_GUARDED_BY(mu_);
  bool probing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace marketlens::analyzer::llm

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_CIRCUIT_BREAKER_H_
