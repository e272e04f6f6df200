#include "common/retry/backoff.h"

#include <algorithm>
#include <cmath>

#include "absl/random/random.h"

namespace marketlens::retry {

absl::Duration BackoffCeiling(const BackoffPolicy& policy, int attempt) {
  if (attempt < 0) attempt = 0;
  const double factor = std::pow(std::max(policy.multiplier, 1.0), std::min(attempt, 62));
  const double ceiling_s = absl::ToDoubleSeconds(policy.initial) * factor;
  const double max_s = absl::ToDoubleSeconds(policy.max);
  return absl::Seconds(std::isfinite(ceiling_s) ? std::min(ceiling_s, max_s) : max_s);
}

absl::Duration FullJitterDelay(const BackoffPolicy& policy, int attempt, absl::BitGenRef gen) {
  const double ceiling_s = absl::ToDoubleSeconds(BackoffCeiling(policy, attempt));
  if (ceiling_s <= 0) return absl::ZeroDuration();
  return absl::Seconds(absl::Uniform(absl::IntervalClosed, gen, 0.0, ceiling_s));
}

absl::Duration FullJitterDelay(const BackoffPolicy& policy, int attempt) {
  thread_local absl::BitGen gen;
  return FullJitterDelay(policy, attempt, gen);
}

bool IsTransient(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

}  // namespace marketlens::retry
