// Fault injection, so that clients are tested against what a real API does on a bad day: UNAVAILABLE,
// INTERNAL, and answers so slow that the caller's deadline passes (the client sees DEADLINE_EXCEEDED).
// Each call draws a fault at the configured rates; a test can force one for a single call with the
// metadata `x-marketlens-fault: unavailable|internal|slow|none` ("none" also suppresses random faults).
#ifndef MARKETLENS_SERVICES_MARKETPLACE_FAULTS_H_
#define MARKETLENS_SERVICES_MARKETPLACE_FAULTS_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/marketplace/rng.h"

namespace marketlens::marketplace {

inline constexpr char kFaultMetadataKey[] = "x-marketlens-fault";

enum class Fault { kNone, kUnavailable, kInternal, kSlow };

absl::string_view FaultName(Fault f);  // "none", "unavailable", "internal", "slow"

struct FaultConfig {
  // Per call. The defaults feel like a real, slightly flaky public API.
  double unavailable_rate = 0.02;
  double internal_rate = 0.005;
  double slow_rate = 0.01;
  // A slow answer sleeps until this long past the caller's deadline, but never longer than slow_max (also
  // the sleep when the caller set no deadline).
  absl::Duration slow_past_deadline = absl::Milliseconds(200);
  absl::Duration slow_max = absl::Seconds(10);
  // Whether x-marketlens-fault is honoured.
  bool allow_forced = true;

  // All rates zero (forced faults still work).
  static FaultConfig None() {
    FaultConfig c;
    c.unavailable_rate = c.internal_rate = c.slow_rate = 0;
    return c;
  }
};

class FaultInjector {
 public:
  // INVALID_ARGUMENT-free: rates are clamped to 0..1 (their sum to 1).
  explicit FaultInjector(FaultConfig config, uint64_t seed = 0);

  // The fault for one call. `forced` is the x-marketlens-fault value ("" when absent); an unknown value is
  // INVALID_ARGUMENT.
  absl::StatusOr<Fault> Decide(absl::string_view forced);

  // How long a slow answer takes for a caller whose deadline is `deadline` (InfiniteFuture: none).
  absl::Duration SlowDelay(absl::Time now, absl::Time deadline) const;

  const FaultConfig& config() const { return config_; }

 private:
  const FaultConfig config_;
  absl::Mutex mu_;
  Rng rng_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_FAULTS_H_
