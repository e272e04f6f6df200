// Time moves in the marketplace: a simulated clock advances the world's "now" at a configurable speed
// (simulated seconds per real second) and, for each stretch of simulated time, adds what a real shop would
// see in it: shopping sessions (views, carts, purchases that take stock), new reviews, occasional edits of
// recent reviews ("Update after a month: ..."), price changes and restocks, customer-service contacts after
// problems, customers whose segment changes ("new" becomes "regular" at the first purchase) and campaign
// posts of the last 30 days that keep gaining views and likes (fast at first, then slower). Rates default to
// the world's own activity over its last 90 days, so a generated world keeps its pace and a replayed one its
// own.
//
// With a PlantedModel (generator source) new reviews and edits follow the planted plan and carry truth;
// without one (replay) the clock adds sessions by popularity, price changes and restocks only.
//
// Advance() is deterministic given the seed and the world (tests call it directly); Start() runs it from a
// background thread every `tick` of real time.
#ifndef MARKETLENS_SERVICES_MARKETPLACE_SIMULATED_CLOCK_H_
#define MARKETLENS_SERVICES_MARKETPLACE_SIMULATED_CLOCK_H_

#include <cstdint>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/marketplace/generator.h"
#include "services/marketplace/rng.h"
#include "services/marketplace/world.h"

namespace marketlens::marketplace {

struct ClockOptions {
  double speed = 3600;  // simulated seconds per real second (3600: a simulated hour each second)
  absl::Duration tick = absl::Milliseconds(250);
  uint64_t seed = 1;
  // Per simulated hour; < 0 means: the world's own rate over its last 90 days.
  double sessions_per_hour = -1;
  double reviews_per_hour = -1;
  double edits_per_review = 0.03;  // review edits per new review
  double price_changes_per_product_day = 0.02;
  double restock_probability_per_day = 0.4;  // for products with stock below 5
  double contact_probability_on_issue = 0.5;
  // A post's daily growth of views (and likes, comments, shares) at age 0, decaying with age / 10 days; posts
  // older than 30 days no longer change.
  double post_growth_per_day = 0.05;
};

class SimulatedClock {
 public:
  struct Stats {
    int64_t sessions = 0;
    int64_t interactions = 0;
    int64_t reviews = 0;
    int64_t edits = 0;
    int64_t price_changes = 0;
    int64_t restocks = 0;
    int64_t contacts = 0;
    int64_t customer_updates = 0;  // segment changes ("new" -> "regular" at a first purchase)
    int64_t post_updates = 0;      // recent campaign posts whose counts grew
  };

  // `world` must outlive the clock; `model` may be null (replayed data).
  SimulatedClock(World* world, std::shared_ptr<const PlantedModel> model, ClockOptions options);
  ~SimulatedClock();  // stops the background thread

  // Adds `simulated` worth of activity and moves the world's now forward by it. Thread-safe (serialised).
  Stats Advance(absl::Duration simulated);

  // Runs Advance(real elapsed * speed) every tick until Stop(). No-op when speed <= 0 or already running.
  void Start();
  void Stop();

  Stats totals() const;
  double speed() const { return options_.speed; }
  double sessions_per_hour() const { return sessions_per_hour_; }
  double reviews_per_hour() const { return reviews_per_hour_; }

 private:
  void Loop();

  World* const world_;
  const std::shared_ptr<const PlantedModel> model_;
  const ClockOptions options_;
  double sessions_per_hour_ = 0;
  double reviews_per_hour_ = 0;

  absl::Mutex advance_mu_;  // one Advance at a time
  Rng rng_ ABSL_GUARDED_BY(advance_mu_);
  uint32_t next_session_ ABSL_GUARDED_BY(advance_mu_) = 0;

  mutable absl::Mutex mu_;
  Stats totals_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_SIMULATED_CLOCK_H_
