#include "services/marketplace/simulated_clock.h"

#include <memory>

#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/marketplace/generator.h"

namespace marketlens::marketplace {
namespace {

using ::marketlens::testing::IsOk;

struct Fixture {
  std::unique_ptr<World> world;
  std::shared_ptr<const PlantedModel> model;
};

Fixture Make(int products = 80, uint64_t seed = 21) {
  GeneratorOptions o;
  o.products = products;
  o.seed = seed;
  auto g = Generate(o);
  EXPECT_THAT(g, IsOk());
  auto w = World::Create(std::move(g->data));
  EXPECT_THAT(w, IsOk());
  return {*std::move(w), g->model};
}

TEST(SimulatedClockTest, AddsActivityAndMovesTime) {
  Fixture f = Make();
  const absl::Time start = f.world->Now();
  const size_t reviews = f.world->review_count();
  const size_t interactions = f.world->interaction_count();
  ClockOptions o;
  o.reviews_per_hour = 4;
  o.sessions_per_hour = 20;
  o.edits_per_review = 0.25;
  o.price_changes_per_product_day = 0.5;
  SimulatedClock clock(f.world.get(), f.model, o);
  const SimulatedClock::Stats s = clock.Advance(absl::Hours(24));
  EXPECT_EQ(f.world->Now(), start + absl::Hours(24));
  EXPECT_GT(s.reviews, 40);
  EXPECT_GT(s.sessions, 300);
  EXPECT_GT(s.edits, 5);
  EXPECT_GT(s.price_changes, 10);
  EXPECT_EQ(f.world->review_count(), reviews + s.reviews);
  EXPECT_EQ(f.world->interaction_count(), interactions + s.interactions);
  // New reviews are newer than the old now and carry truth; edited ones have a higher version.
  auto last = f.world->ReviewAt(f.world->review_count() - 1);
  ASSERT_TRUE(last.has_value());
  EXPECT_GT(FromProto(last->review.created_at()), start);
  ASSERT_TRUE(last->truth.has_value());
  EXPECT_EQ(last->truth->review_id(), last->review.id());
  int edited = 0;
  for (size_t i = 0; i < f.world->review_count(); ++i) {
    auto r = f.world->ReviewAt(i);
    if (r->review.version() > 1) {
      ++edited;
      EXPECT_GT(FromProto(r->review.updated_at()), start);
      EXPECT_EQ(r->truth->version(), r->review.version());
    }
  }
  EXPECT_GT(edited, 0);
  // Interactions stay in time order.
  for (size_t i = 1; i < f.world->interaction_count(); ++i) {
    ASSERT_LE(f.world->InteractionAt(i - 1)->time_us, f.world->InteractionAt(i)->time_us) << i;
  }
}

TEST(SimulatedClockTest, DefaultRatesFollowTheWorldsPace) {
  Fixture f = Make();
  SimulatedClock clock(f.world.get(), f.model, ClockOptions());
  EXPECT_GT(clock.sessions_per_hour(), 0.1);
  EXPECT_GT(clock.reviews_per_hour(), 0.01);
  const SimulatedClock::Stats s = clock.Advance(absl::Hours(24 * 7));
  EXPECT_GT(s.sessions, 0);
  EXPECT_GT(s.reviews, 0);
}

TEST(SimulatedClockTest, IsDeterministicForTheSameSeed) {
  Fixture a = Make(), b = Make();
  ClockOptions o;
  o.seed = 5;
  SimulatedClock ca(a.world.get(), a.model, o), cb(b.world.get(), b.model, o);
  for (int i = 0; i < 3; ++i) {
    ca.Advance(absl::Hours(10));
    cb.Advance(absl::Hours(10));
  }
  ASSERT_EQ(a.world->review_count(), b.world->review_count());
  ASSERT_EQ(a.world->interaction_count(), b.world->interaction_count());
  EXPECT_EQ(a.world->ReviewAt(a.world->review_count() - 1)->review.text(),
            b.world->ReviewAt(b.world->review_count() - 1)->review.text());
}

TEST(SimulatedClockTest, WorksWithoutAModel) {
  Fixture f = Make();
  ClockOptions o;
  o.sessions_per_hour = 50;
  SimulatedClock clock(f.world.get(), nullptr, o);
  const size_t reviews = f.world->review_count();
  const SimulatedClock::Stats s = clock.Advance(absl::Hours(5));
  EXPECT_GT(s.sessions, 100);
  EXPECT_EQ(s.reviews, 0);
  EXPECT_EQ(f.world->review_count(), reviews);
}

TEST(SimulatedClockTest, BackgroundThreadRunsAtSpeed) {
  Fixture f = Make();
  ClockOptions o;
  o.speed = 36000;  // ten simulated hours per second
  o.tick = absl::Milliseconds(20);
  o.sessions_per_hour = 30;
  SimulatedClock clock(f.world.get(), f.model, o);
  const absl::Time start = f.world->Now();
  clock.Start();
  absl::SleepFor(absl::Milliseconds(300));
  clock.Stop();
  const absl::Duration moved = f.world->Now() - start;
  EXPECT_GT(moved, absl::Hours(2));
  EXPECT_LT(moved, absl::Hours(30));
  EXPECT_GT(clock.totals().sessions, 0);
  clock.Stop();  // idempotent
}

}  // namespace
}  // namespace marketlens::marketplace
