#include "services/marketplace/faults.h"

#include <algorithm>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace marketlens::marketplace {
namespace {

FaultConfig Clamped(FaultConfig c) {
  auto clamp01 = [](double v) { return std::max(0.0, std::min(1.0, v)); };
  c.unavailable_rate = clamp01(c.unavailable_rate);
  c.internal_rate = clamp01(c.internal_rate);
  c.slow_rate = clamp01(c.slow_rate);
  const double sum = c.unavailable_rate + c.internal_rate + c.slow_rate;
  if (sum > 1) {
    c.unavailable_rate /= sum;
    c.internal_rate /= sum;
    c.slow_rate /= sum;
  }
  return c;
}

}  // namespace

absl::string_view FaultName(Fault f) {
  switch (f) {
    case Fault::kUnavailable:
      return "unavailable";
    case Fault::kInternal:
      return "internal";
    case Fault::kSlow:
      return "slow";
    default:
      return "none";
  }
}

FaultInjector::FaultInjector(FaultConfig config, uint64_t seed)
    : config_(Clamped(config)), rng_(MakeRng(seed != 0 ? seed : std::random_device()(), 99)) {}

absl::StatusOr<Fault> FaultInjector::Decide(absl::string_view forced) {
  if (!forced.empty() && config_.allow_forced) {
    const std::string f = absl::AsciiStrToLower(absl::StripAsciiWhitespace(forced));
    if (f == "unavailable") return Fault::kUnavailable;
    if (f == "internal") return Fault::kInternal;
    if (f == "slow") return Fault::kSlow;
    if (f == "none") return Fault::kNone;
    return absl::InvalidArgumentError(absl::StrCat(
        kFaultMetadataKey, " must be unavailable, internal, slow or none; got \"", forced, "\""));
  }
  if (config_.unavailable_rate + config_.internal_rate + config_.slow_rate <= 0) return Fault::kNone;
  double u;
  {
    absl::MutexLock lock(&mu_);
    u = Uniform01(rng_);
  }
  if (u < config_.unavailable_rate) return Fault::kUnavailable;
  u -= config_.unavailable_rate;
  if (u < config_.internal_rate) return Fault::kInternal;
  u -= config_.internal_rate;
  if (u < config_.slow_rate) return Fault::kSlow;
  return Fault::kNone;
}

absl::Duration FaultInjector::SlowDelay(absl::Time now, absl::Time deadline) const {
  if (deadline == absl::InfiniteFuture()) return config_.slow_max;
  return std::max(absl::ZeroDuration(),
                  std::min(config_.slow_max, deadline - now + config_.slow_past_deadline));
}

}  // namespace marketlens::marketplace
