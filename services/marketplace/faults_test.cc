#include "services/marketplace/faults.h"

#include <map>

#include "gtest/gtest.h"

namespace marketlens::marketplace {
namespace {

TEST(FaultsTest, NoneNeverFaults) {
  FaultInjector f(FaultConfig::None(), 1);
  for (int i = 0; i < 10000; ++i) EXPECT_EQ(*f.Decide(""), Fault::kNone);
}

TEST(FaultsTest, RatesAreRespected) {
  FaultConfig c = FaultConfig::None();
  c.unavailable_rate = 0.2;
  c.internal_rate = 0.1;
  c.slow_rate = 0.05;
  FaultInjector f(c, 2);
  std::map<Fault, int> n;
  const int total = 40000;
  for (int i = 0; i < total; ++i) n[*f.Decide("")]++;
  EXPECT_NEAR(n[Fault::kUnavailable] / double(total), 0.2, 0.01);
  EXPECT_NEAR(n[Fault::kInternal] / double(total), 0.1, 0.01);
  EXPECT_NEAR(n[Fault::kSlow] / double(total), 0.05, 0.01);
}

TEST(FaultsTest, ForcedFaultsWinAndUnknownOnesAreRefused) {
  FaultConfig c = FaultConfig::None();
  c.unavailable_rate = 1;
  FaultInjector f(c, 3);
  EXPECT_EQ(*f.Decide("internal"), Fault::kInternal);
  EXPECT_EQ(*f.Decide(" SLOW "), Fault::kSlow);
  EXPECT_EQ(*f.Decide("none"), Fault::kNone);  // suppresses the configured faults
  EXPECT_EQ(*f.Decide(""), Fault::kUnavailable);
  EXPECT_EQ(f.Decide("explode").status().code(), absl::StatusCode::kInvalidArgument);
  c.allow_forced = false;
  FaultInjector strict(c, 3);
  EXPECT_EQ(*strict.Decide("none"), Fault::kUnavailable);
}

TEST(FaultsTest, SlowDelayPassesTheDeadlineButIsCapped) {
  FaultInjector f(FaultConfig::None(), 4);
  const absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(f.SlowDelay(now, now + absl::Seconds(1)), absl::Milliseconds(1200));
  EXPECT_EQ(f.SlowDelay(now, now + absl::Hours(1)), absl::Seconds(10));
  EXPECT_EQ(f.SlowDelay(now, absl::InfiniteFuture()), absl::Seconds(10));
}

}  // namespace
}  // namespace marketlens::marketplace
