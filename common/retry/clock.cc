#include "common/retry/clock.h"

namespace marketlens::retry {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
  void SleepFor(absl::Duration d) override { absl::SleepFor(d); }
};

}  // namespace

Clock* Clock::Real() {
  static auto* clock = new RealClock();
  return clock;
}

}  // namespace marketlens::retry
