#include "services/marketplace/world.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::marketplace {
namespace {

using ::marketlens::testing::IsOk;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

WorldData SmallWorld() {
  WorldData d;
  d.now = kT0 + absl::Hours(100);
  for (int i = 0; i < 10; ++i) {
    v1::Product p;
    p.set_id(absl::StrFormat("P%02d", i));
    p.set_category(i % 2 == 0 ? "Even" : "Odd");
    ToProto(kT0 + absl::Hours(i), p.mutable_updated_at());
    d.products.push_back(p);
  }
  for (int i = 0; i < 3; ++i) {
    v1::Customer c;
    c.set_id(absl::StrFormat("C%d", i));
    d.customers.push_back(c);
  }
  for (int i = 0; i < 25; ++i) {
    v1::Review r;
    r.set_id(ReviewId(i));
    r.set_product_id(absl::StrFormat("P%02d", i % 5));
    r.set_rating(1 + i % 5);
    ToProto(kT0 + absl::Hours(i), r.mutable_created_at());
    ToProto(kT0 + absl::Hours(i), r.mutable_updated_at());
    r.set_version(1);
    d.reviews.push_back(r);
  }
  for (int i = 0; i < 30; ++i) {
    d.interactions.push_back({absl::ToUnixMicros(kT0 + absl::Hours(i)), static_cast<uint32_t>(i % 3),
                              static_cast<uint32_t>(i % 10), 1, v1::INTERACTION_TYPE_VIEW, 0, 1});
  }
  for (int i = 0; i < 6; ++i) {
    v1::Contact c;
    c.set_id(ContactId(i));
    c.set_customer_id(absl::StrFormat("C%d", i % 3));
    ToProto(kT0 + absl::Hours(i), c.mutable_started_at());
    d.contacts.push_back(c);
  }
  for (int i = 0; i < 7; ++i) {
    v1::CampaignPost p;
    p.set_id(absl::StrFormat("P%07d", i + 1));
    p.set_campaign_id(i < 4 ? "A" : "B");
    d.posts.push_back(p);
  }
  return d;
}

template <typename T, typename Fetch>
std::vector<T> WalkAll(int limit, Fetch fetch) {
  std::vector<T> out;
  std::string after;
  for (int pages = 0; pages < 1000; ++pages) {
    Page<T> page = fetch(after, limit);
    for (auto& item : page.items) out.push_back(item);
    if (page.next_after.empty()) return out;
    EXPECT_EQ(static_cast<int>(page.items.size()), limit);
    after = page.next_after;
  }
  ADD_FAILURE() << "walk did not end";
  return out;
}

TEST(WorldTest, RejectsBrokenInvariants) {
  WorldData d = SmallWorld();
  std::swap(d.products[0], d.products[1]);
  EXPECT_FALSE(World::Create(d).ok());
  d = SmallWorld();
  d.reviews[3].set_product_id("nope");
  EXPECT_FALSE(World::Create(d).ok());
  d = SmallWorld();
  d.interactions[3].time_us = 0;
  EXPECT_FALSE(World::Create(d).ok());
  d = SmallWorld();
  d.interactions[3].customer = 99;
  EXPECT_FALSE(World::Create(d).ok());
  EXPECT_THAT(World::Create(SmallWorld()), IsOk());
}

TEST(WorldTest, ComputesRatingsFromReviews) {
  auto w = World::Create(SmallWorld());
  ASSERT_THAT(w, IsOk());
  auto p0 = (*w)->GetProduct("P00");  // reviews 0,5,10,15,20: ratings 1,1,1,1,1
  ASSERT_TRUE(p0.has_value());
  EXPECT_EQ(p0->rating_count(), 5);
  EXPECT_DOUBLE_EQ(p0->rating_average(), 1.0);
  EXPECT_EQ((*w)->GetProduct("P09")->rating_count(), 0);
  EXPECT_FALSE((*w)->GetProduct("zzz").has_value());
}

TEST(WorldTest, PagesEveryListWithFiltersAtAnyPageSize) {
  auto created = World::Create(SmallWorld());
  ASSERT_THAT(created, IsOk());
  const World& w = **created;
  for (int limit : {1, 2, 3, 7, 100}) {
    auto products = WalkAll<v1::Product>(
        limit, [&](const std::string& a, int l) { return w.ListProducts({.after = a, .limit = l}); });
    EXPECT_EQ(products.size(), 10u);
    auto odd = WalkAll<v1::Product>(limit, [&](const std::string& a, int l) {
      return w.ListProducts({.category = "Odd", .after = a, .limit = l});
    });
    EXPECT_EQ(odd.size(), 5u);
    auto recent = WalkAll<v1::Product>(limit, [&](const std::string& a, int l) {
      return w.ListProducts({.updated_since = kT0 + absl::Hours(7), .after = a, .limit = l});
    });
    EXPECT_EQ(recent.size(), 3u);  // P07..P09
    auto reviews = WalkAll<v1::Review>(
        limit, [&](const std::string& a, int l) { return w.ListReviews({.after = a, .limit = l}); });
    EXPECT_EQ(reviews.size(), 25u);
    auto p1 = WalkAll<v1::Review>(limit, [&](const std::string& a, int l) {
      return w.ListReviews({.product_id = "P01", .after = a, .limit = l});
    });
    EXPECT_EQ(p1.size(), 5u);
    auto since = WalkAll<v1::Review>(limit, [&](const std::string& a, int l) {
      return w.ListReviews({.since = kT0 + absl::Hours(20), .after = a, .limit = l});
    });
    EXPECT_EQ(since.size(), 5u);
    auto interactions = WalkAll<v1::Interaction>(
        limit, [&](const std::string& a, int l) { return w.ListInteractions({.after = a, .limit = l}); });
    ASSERT_EQ(interactions.size(), 30u);
    EXPECT_EQ(interactions[0].id(), "I0000000001");
    EXPECT_EQ(interactions[0].device(), "mobile");
    auto c1_recent = WalkAll<v1::Interaction>(limit, [&](const std::string& a, int l) {
      return w.ListInteractions(
          {.customer_id = "C1", .since = kT0 + absl::Hours(10), .after = a, .limit = l});
    });
    EXPECT_EQ(c1_recent.size(), 7u);  // i = 10,13,...,28
    for (const auto& i : c1_recent) EXPECT_EQ(i.customer_id(), "C1");
    auto customers =
        WalkAll<v1::Customer>(limit, [&](const std::string& a, int l) { return w.ListCustomers(a, l); });
    EXPECT_EQ(customers.size(), 3u);
    auto posts_b = WalkAll<v1::CampaignPost>(
        limit, [&](const std::string& a, int l) { return w.ListCampaignPosts("B", a, l); });
    EXPECT_EQ(posts_b.size(), 3u);
    auto contacts = WalkAll<v1::Contact>(limit, [&](const std::string& a, int l) {
      return w.ListContacts({.customer_id = "C0", .since = kT0 + absl::Hours(1), .after = a, .limit = l});
    });
    EXPECT_EQ(contacts.size(), 1u);  // contact 3
  }
  EXPECT_TRUE(w.ListProducts({.category = "None"}).items.empty());
  EXPECT_TRUE(w.ListReviews({.product_id = "None"}).items.empty());
}

TEST(WorldTest, WritesKeepOrderAndUpdateProducts) {
  auto created = World::Create(SmallWorld());
  ASSERT_THAT(created, IsOk());
  World& w = **created;
  const absl::Time later = kT0 + absl::Hours(200);
  v1::Review r;
  r.set_product_id("P09");
  r.set_rating(4);
  auto id = w.AddReview(r, std::nullopt, later);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(*id, "R000000026");
  EXPECT_EQ(w.GetProduct("P09")->rating_count(), 1);
  EXPECT_EQ(FromProto(w.GetProduct("P09")->updated_at()), later);
  EXPECT_EQ(w.Now(), later);
  ASSERT_THAT(w.EditReview(25, 2, "t", "x", std::nullopt, later + absl::Hours(1)), IsOk());
  auto edited = w.ReviewAt(25);
  EXPECT_EQ(edited->review.version(), 2);
  EXPECT_DOUBLE_EQ(w.GetProduct("P09")->rating_average(), 2.0);
  EXPECT_FALSE(w.AddReview(v1::Review(), std::nullopt, later).ok());
  // Interactions stay in time order; a purchase takes stock.
  ASSERT_THAT(w.UpdateProduct(3, 1999, 1, later), IsOk());
  ASSERT_THAT(w.AddInteraction({0, 0, 3, 0, v1::INTERACTION_TYPE_PURCHASE, 0, 0}), IsOk());
  EXPECT_EQ(w.GetProduct("P03")->stock(), 0);
  EXPECT_EQ(w.GetProduct("P03")->price_cents(), 1999);
  EXPECT_GE(w.InteractionAt(30)->time_us, w.InteractionAt(29)->time_us);
  ASSERT_THAT(w.AddInteraction({0, 0, 3, 0, v1::INTERACTION_TYPE_PURCHASE, 0, 0}), IsOk());
  EXPECT_EQ(w.GetProduct("P03")->stock(), 0);  // never below zero
  v1::Contact c;
  c.set_customer_id("C2");
  auto cid = w.AddContact(c);
  ASSERT_THAT(cid, IsOk());
  EXPECT_EQ(*cid, ContactId(6));
  EXPECT_EQ(w.ListContacts({.customer_id = "C2"}).items.size(), 3u);
}

TEST(WorldTest, ConcurrentWalksWhileWritingSeeEveryOldItemOnce) {
  auto created = World::Create(SmallWorld());
  ASSERT_THAT(created, IsOk());
  World& w = **created;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    absl::Time t = kT0 + absl::Hours(300);
    int i = 0;
    while (!stop.load() && i < 20000) {
      if (i % 16 == 0) absl::SleepFor(absl::Microseconds(200));
      v1::Review r;
      r.set_product_id(absl::StrFormat("P%02d", i % 10));
      r.set_rating(3);
      t += absl::Seconds(1);
      (void)w.AddReview(r, std::nullopt, t);
      (void)w.EditReview(i % 25, 5, "e", "e", std::nullopt, t);
      ++i;
    }
  });
  for (int round = 0; round < 50; ++round) {
    std::set<std::string> seen;
    std::string after, last;
    while (true) {
      auto page = w.ListReviews({.after = after, .limit = 3});
      for (const auto& r : page.items) {
        EXPECT_TRUE(seen.insert(r.id()).second) << r.id();
        EXPECT_LT(last, r.id());
        last = r.id();
      }
      if (page.next_after.empty()) break;
      after = page.next_after;
    }
    for (int i = 0; i < 25; ++i) EXPECT_TRUE(seen.count(ReviewId(i))) << i;
  }
  stop = true;
  writer.join();
}

}  // namespace
}  // namespace marketlens::marketplace
