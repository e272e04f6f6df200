#include "services/marketplace/simulated_clock.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/logging/log.h"

namespace marketlens::marketplace {
namespace {

constexpr absl::Duration kRateWindow = absl::Hours(24 * 90);

// Prices end in .99 and move by a few percent.
int64_t NewPrice(int64_t cents, Rng& rng) {
  const double factor = UniformReal(rng, 0.85, 1.15);
  const int64_t dollars = std::max<int64_t>(1, static_cast<int64_t>(std::llround(cents * factor / 100.0)));
  return dollars * 100 - 1;
}

}  // namespace

SimulatedClock::SimulatedClock(World* world, std::shared_ptr<const PlantedModel> model, ClockOptions options)
    : world_(world), model_(std::move(model)), options_(options), rng_(MakeRng(options.seed, 0xC10C)) {
  const World::Activity recent = world_->ActivitySince(world_->Now() - kRateWindow);
  const double hours = absl::ToDoubleHours(kRateWindow);
  // A session has about three views; a replayed world without views counts its events as sessions.
  const int64_t views = recent.interactions[v1::INTERACTION_TYPE_VIEW];
  int64_t events = 0;
  for (int64_t n : recent.interactions) events += n;
  sessions_per_hour_ = options.sessions_per_hour >= 0
                           ? options.sessions_per_hour
                           : (views > 0 ? views / 3.0 : static_cast<double>(events)) / hours;
  reviews_per_hour_ = options.reviews_per_hour >= 0 ? options.reviews_per_hour : recent.reviews / hours;
  if (!model_) reviews_per_hour_ = 0;  // replayed worlds have no one to write new reviews
  next_session_ = world_->max_session() + 1;
}

SimulatedClock::~SimulatedClock() { Stop(); }

SimulatedClock::Stats SimulatedClock::Advance(absl::Duration simulated) {
  Stats stats;
  if (simulated <= absl::ZeroDuration()) return stats;
  absl::MutexLock advance_lock(&advance_mu_);
  Rng& rng = rng_;
  const absl::Time from = world_->Now();
  const absl::Time to = from + simulated;
  const double hours = absl::ToDoubleHours(simulated);
  const size_t n_products = world_->product_count();
  const size_t n_customers = world_->customer_count();
  if (n_products == 0 || n_customers == 0) {
    world_->AdvanceTo(to);
    return stats;
  }
  auto at = [&] { return from + simulated * Uniform01(rng); };

  // Everything that happens in (from, to], applied in time order.
  enum Kind { kSession, kReview, kEdit, kPrice, kRestock };
  struct Event {
    absl::Time t;
    Kind kind;
    uint32_t a = 0;  // customer (session, review) / product (price, restock) / review index (edit)
  };
  std::vector<Event> events;
  const int sessions = absl::Poisson<int>(rng, sessions_per_hour_ * hours);
  for (int i = 0; i < sessions; ++i) {
    const uint32_t c = model_ ? model_->PickCustomer(rng) : absl::Uniform<uint32_t>(rng, 0, n_customers);
    events.push_back({at(), kSession, c});
  }
  const int reviews = model_ ? absl::Poisson<int>(rng, reviews_per_hour_ * hours) : 0;
  for (int i = 0; i < reviews; ++i) events.push_back({at(), kReview, model_->PickCustomer(rng)});
  const size_t n_reviews = world_->review_count();
  const int edits = model_ && n_reviews > 0
                        ? absl::Poisson<int>(rng, reviews_per_hour_ * options_.edits_per_review * hours)
                        : 0;
  for (int i = 0; i < edits; ++i) {
    // Recent reviews get edited (people update after a few weeks of use).
    const size_t window = std::min<size_t>(n_reviews, 3000);
    events.push_back(
        {at(), kEdit, static_cast<uint32_t>(n_reviews - 1 - absl::Uniform<size_t>(rng, 0, window))});
  }
  const int prices =
      absl::Poisson<int>(rng, n_products * options_.price_changes_per_product_day * hours / 24);
  for (int i = 0; i < prices; ++i)
    events.push_back({at(), kPrice, absl::Uniform<uint32_t>(rng, 0, n_products)});
  std::vector<int32_t> stock = world_->Stocks();
  for (uint32_t p = 0; p < stock.size(); ++p) {
    if (stock[p] < 5 && Chance(rng, 1 - std::pow(1 - options_.restock_probability_per_day, hours / 24))) {
      events.push_back({at(), kRestock, p});
    }
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& x, const Event& y) { return x.t < y.t; });

  for (const Event& e : events) {
    switch (e.kind) {
      case kSession: {
        std::vector<InteractionRecord> records;
        const uint32_t session = next_session_++;
        if (model_) {
          records = model_->SampleSession(e.a, e.t, session, rng, &stock);
        } else {
          // Replay: look at what others looked at (popularity), sometimes buy.
          const size_t n = world_->interaction_count();
          std::optional<InteractionRecord> seen =
              n > 0 ? world_->InteractionAt(absl::Uniform<size_t>(rng, 0, n)) : std::nullopt;
          const uint32_t product = seen ? seen->product : absl::Uniform<uint32_t>(rng, 0, n_products);
          const int64_t us = absl::ToUnixMicros(e.t);
          const uint8_t device = static_cast<uint8_t>(UniformInt(rng, 1, 3));
          records.push_back({us, e.a, product, session, v1::INTERACTION_TYPE_VIEW, 0, device});
          if (Chance(rng, 0.2)) {
            records.push_back(
                {us + 60000000, e.a, product, session, v1::INTERACTION_TYPE_ADD_TO_CART, 0, device});
            if (stock[product] > 0 && Chance(rng, 0.45)) {
              records.push_back(
                  {us + 120000000, e.a, product, session, v1::INTERACTION_TYPE_PURCHASE, 0, device});
            }
          }
        }
        for (const InteractionRecord& r : records) {
          if (world_->AddInteraction(r).ok()) {
            ++stats.interactions;
            if (r.type == v1::INTERACTION_TYPE_PURCHASE && stock[r.product] > 0) --stock[r.product];
            if (r.type == v1::INTERACTION_TYPE_PURCHASE) {
              std::optional<v1::Customer> c = world_->CustomerAt(r.customer);
              if (c && c->segment() == "new" &&
                  world_->UpdateCustomerSegment(r.customer, "regular", absl::FromUnixMicros(r.time_us))
                      .ok()) {
                ++stats.customer_updates;
              }
            }
          }
        }
        ++stats.sessions;
        break;
      }
      case kReview: {
        const uint32_t product = model_->PickProduct(e.a, e.t, rng);
        ReviewDraft draft = model_->WriteReview(product, e.a, e.t, Chance(rng, 0.85), rng);
        const bool issue = draft.truth.issues_size() > 0;
        if (world_->AddReview(std::move(draft.review), std::move(draft.truth), e.t).ok()) ++stats.reviews;
        if (issue && Chance(rng, options_.contact_probability_on_issue)) {
          const IssueSpec* spec = FindIssue(world_->ReviewAt(world_->review_count() - 1)->truth->issues(0));
          if (world_->AddContact(model_->WriteContact(e.a, product, "", spec, e.t, rng)).ok())
            ++stats.contacts;
        }
        break;
      }
      case kEdit: {
        std::optional<World::ReviewWithTruth> old = world_->ReviewAt(e.a);
        if (!old || !old->truth) break;
        const auto& ids = model_->product_ids();
        const auto it = std::lower_bound(ids.begin(), ids.end(), old->review.product_id());
        if (it == ids.end() || *it != old->review.product_id()) break;
        ReviewDraft edit =
            model_->EditReview(static_cast<uint32_t>(it - ids.begin()), old->review, *old->truth, e.t, rng);
        if (world_
                ->EditReview(e.a, edit.review.rating(), edit.review.title(), edit.review.text(), edit.truth,
                             e.t)
                .ok()) {
          ++stats.edits;
        }
        break;
      }
      case kPrice: {
        std::optional<v1::Product> p = world_->ProductAt(e.a);
        if (p && world_->UpdateProduct(e.a, NewPrice(p->price_cents(), rng), std::nullopt, e.t).ok()) {
          ++stats.price_changes;
        }
        break;
      }
      case kRestock: {
        const int32_t added = UniformInt(rng, 50, 300);
        std::optional<v1::Product> p = world_->ProductAt(e.a);
        if (p && world_->UpdateProduct(e.a, std::nullopt, p->stock() + added, e.t).ok()) {
          stock[e.a] = p->stock() + added;
          ++stats.restocks;
        }
        break;
      }
    }
  }
  // Recent campaign posts keep being seen (no randomness: growth follows age). Posts are in time order.
  if (options_.post_growth_per_day > 0) {
    const size_t n_posts = world_->post_count();
    for (size_t i = n_posts; i-- > 0;) {
      std::optional<v1::CampaignPost> p = world_->PostAt(i);
      if (!p) break;
      const absl::Time posted = FromProto(p->posted_at());
      if (posted > to) continue;
      const double age_days = absl::ToDoubleHours(to - posted) / 24;
      if (age_days > 30) break;
      const double growth = options_.post_growth_per_day * std::exp(-age_days / 10) * hours / 24;
      auto grown = [&](int64_t v) { return v + static_cast<int64_t>(std::floor(v * growth)); };
      if (grown(p->views()) == p->views()) continue;
      if (world_
              ->UpdatePostCounts(i, grown(p->views()), grown(p->likes()), grown(p->comments()),
                                 grown(p->shares()), to)
              .ok()) {
        ++stats.post_updates;
      }
    }
  }
  world_->AdvanceTo(to);
  absl::MutexLock lock(&mu_);
  totals_.sessions += stats.sessions;
  totals_.interactions += stats.interactions;
  totals_.reviews += stats.reviews;
  totals_.edits += stats.edits;
  totals_.price_changes += stats.price_changes;
  totals_.restocks += stats.restocks;
  totals_.contacts += stats.contacts;
  totals_.customer_updates += stats.customer_updates;
  totals_.post_updates += stats.post_updates;
  return stats;
}

void SimulatedClock::Start() {
  if (options_.speed <= 0) return;
  absl::MutexLock lock(&mu_);
  if (running_) return;
  running_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void SimulatedClock::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return;
    stop_ = true;
  }
  thread_.join();
  absl::MutexLock lock(&mu_);
  running_ = false;
}

void SimulatedClock::Loop() {
  logging::Info("simulated clock started", {{"speed", options_.speed},
                                            {"sessions_per_hour", sessions_per_hour_},
                                            {"reviews_per_hour", reviews_per_hour_}});
  absl::Time last = absl::Now();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.tick)) break;
    }
    const absl::Time now = absl::Now();
    Advance((now - last) * options_.speed);
    last = now;
  }
  logging::Info("simulated clock stopped");
}

SimulatedClock::Stats SimulatedClock::totals() const {
  absl::MutexLock lock(&mu_);
  return totals_;
}

}  // namespace marketlens::marketplace
