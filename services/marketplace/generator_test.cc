#include "services/marketplace/generator.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "services/marketplace/catalog.h"
#include "services/marketplace/world.h"

namespace marketlens::marketplace {
namespace {

using ::marketlens::testing::IsOk;

// A digest of every byte of a world (protos serialized deterministically).
size_t Fingerprint(const WorldData& d) {
  std::string all;
  auto add = [&](const google::protobuf::Message& m) {
    std::string s;
    google::protobuf::io::StringOutputStream out(&s);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
    coded.Trim();
    all += std::to_string(s.size()) + s;
  };
  for (const auto& x : d.products) add(x);
  for (const auto& x : d.customers) add(x);
  for (const auto& x : d.reviews) add(x);
  for (const auto& x : d.posts) add(x);
  for (const auto& x : d.contacts) add(x);
  for (const auto& x : d.product_truth) add(x);
  for (const auto& x : d.customer_truth) add(x);
  for (const auto& x : d.review_truth) add(x);
  for (const auto& x : d.influencer_truth) add(x);
  for (const auto& i : d.interactions) {
    absl::StrAppend(&all, i.time_us, ",", i.customer, ",", i.product, ",", i.session, ",", i.type, ",",
                    i.rating, ",", i.device, ";");
  }
  return absl::HashOf(all);
}

// SHA-256 (hex) of every byte of a world, stable across processes and builds (absl::Hash is not): the
// golden test below pins the world a seed generates, so data or refactoring changes cannot move it.
std::string StableFingerprint(const WorldData& d) {
  std::string all = absl::StrCat(d.source, "|", d.seed, "|", absl::ToUnixMicros(d.now), "|");
  auto add = [&](const google::protobuf::Message& m) {
    std::string s;
    google::protobuf::io::StringOutputStream out(&s);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
    coded.Trim();
    absl::StrAppend(&all, s.size(), ":", s);
  };
  for (const auto& x : d.products) add(x);
  for (const auto& x : d.customers) add(x);
  for (const auto& x : d.reviews) add(x);
  for (const auto& x : d.posts) add(x);
  for (const auto& x : d.contacts) add(x);
  for (const auto& x : d.product_truth) add(x);
  for (const auto& x : d.customer_truth) add(x);
  for (const auto& x : d.review_truth) add(x);
  for (const auto& x : d.influencer_truth) add(x);
  for (const auto& x : d.caption_truth) add(x);
  for (const auto& i : d.interactions) {
    absl::StrAppend(&all, i.time_us, ",", i.customer, ",", i.product, ",", i.session, ",", i.type, ",",
                    i.rating, ",", i.device, ";");
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(all.data()), all.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

GeneratorOptions Small(uint64_t seed) {
  GeneratorOptions o;
  o.seed = seed;
  o.products = 120;
  return o;
}

TEST(GeneratorTest, SameSeedSameWorldOtherSeedOtherWorld) {
  auto a = Generate(Small(7));
  auto b = Generate(Small(7));
  auto c = Generate(Small(8));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(Fingerprint(a->data), Fingerprint(b->data));
  EXPECT_NE(Fingerprint(a->data), Fingerprint(c->data));
  EXPECT_EQ(a->data.reviews.size(), b->data.reviews.size());
  EXPECT_EQ(a->data.reviews[10].text(), b->data.reviews[10].text());
}

// The exact worlds two seeds generate, and what the planted model writes after generation (the simulated
// clock's new reviews and contacts), pinned by SHA-256. Measured on the code before the vocabularies moved
// to data files (services/marketplace/data/): moving or reformatting them must not change a byte.
TEST(GeneratorTest, GoldenFingerprintsOfGeneratedWorlds) {
  struct Golden {
    GeneratorOptions options;
    std::string fingerprint;
  };
  GeneratorOptions with_customers = Small(11);
  with_customers.products = 60;
  with_customers.customers = 300;
  const std::vector<Golden> goldens = {
      {Small(7),
       "57f5f4dc2b3074a9be99e59fa92a4e3162a2809a262e03496986b66219ada86c "
       "85c5de1f72e42a31bf12ed8010077cf720edbd637b05a28bf025875a276a67e3"},
      {with_customers,
       "e7ea5f37ce8f6f203a0f983ff14cc09244ee39a0bdd5e139782a19bd9e60a4c1 "
       "a6acd8197dc4a151896e17ebd50ef65860aab446ffd7648e81fce6060606874a"},
  };
  for (const Golden& golden : goldens) {
    auto g = Generate(golden.options);
    ASSERT_THAT(g, IsOk());
    WorldData written;
    Rng rng = MakeRng(golden.options.seed, 99);
    const PlantedModel& model = *g->model;
    for (uint32_t p = 0; p < 40; ++p) {
      const uint32_t customer = model.PickCustomer(rng);
      ReviewDraft draft = model.WriteReview(p, customer, g->data.now, /*verified=*/p % 3 != 0, rng);
      written.reviews.push_back(draft.review);
      written.review_truth.push_back(draft.truth);
      ReviewDraft edit =
          model.EditReview(p, draft.review, draft.truth, g->data.now + absl::Hours(24 * 30), rng);
      written.reviews.push_back(edit.review);
      written.review_truth.push_back(edit.truth);
      const IssueSpec* issue =
          model.products()[p].issues.empty() ? nullptr : FindIssue(model.products()[p].issues.front().name);
      written.contacts.push_back(model.WriteContact(customer, p, "delivery delay", issue, g->data.now, rng));
    }
    EXPECT_EQ(absl::StrCat(StableFingerprint(g->data), " ", StableFingerprint(written)), golden.fingerprint)
        << "seed " << golden.options.seed;
  }
}

TEST(GeneratorTest, RejectsBadOptions) {
  GeneratorOptions o;
  o.products = 0;
  EXPECT_FALSE(Generate(o).ok());
  o.products = 10;
  o.history = absl::ZeroDuration();
  EXPECT_FALSE(Generate(o).ok());
}

TEST(GeneratorTest, SmallWorldIsConsistentAndLoads) {
  auto g = Generate(Small(3));
  ASSERT_THAT(g, IsOk());
  const WorldData& d = g->data;
  EXPECT_EQ(d.products.size(), 120u);
  EXPECT_EQ(d.customers.size(), 960u);
  EXPECT_EQ(d.review_truth.size(), d.reviews.size());
  std::set<std::string> categories;
  for (const auto& p : d.products) {
    categories.insert(p.category());
    EXPECT_GT(p.price_cents(), 0);
    EXPECT_EQ(p.price_cents() % 100, 99);
    EXPECT_GE(p.margin(), 0);
    EXPECT_LE(p.margin(), 1);
    EXPECT_FALSE(p.title().empty());
  }
  EXPECT_GE(categories.size(), 10u);
  for (size_t i = 0; i < d.reviews.size(); ++i) {
    const auto& r = d.reviews[i];
    EXPECT_GE(r.rating(), 1);
    EXPECT_LE(r.rating(), 5);
    EXPECT_LE(FromProto(r.created_at()), d.now);
    EXPECT_EQ(d.review_truth[i].review_id(), r.id());
    // Reviews come after the product's launch.
    const auto& truth = d.review_truth[i];
    EXPECT_FALSE(truth.sentiment().empty());
  }
  auto world = World::Create(d);
  ASSERT_THAT(world, IsOk()) << world.status();
}

// Campaign posts have captions, and posts written from a high-lift angle (per the caption truth, found by
// their signature hashtags) engage clearly more than low-lift ones, relative to their influencer's rate.
void ExpectPlantedCaptionEffect(const WorldData& d) {
  ASSERT_FALSE(d.caption_truth.empty());
  std::map<std::string, double> influencer_rate;
  for (const auto& t : d.influencer_truth) influencer_rate[t.influencer()] = t.engagement_rate();
  // A post's angle, from its signature hashtags; its engagement relative to its influencer's planted rate.
  double high_sum = 0, low_sum = 0;
  int high_n = 0, low_n = 0;
  for (const auto& p : d.posts) {
    ASSERT_FALSE(p.caption().empty()) << p.id();
    ASSERT_GT(p.hashtags_size(), 0) << p.caption();
    if (p.views() < 1000) continue;
    const double rate = static_cast<double>(p.likes() + p.comments() + p.shares()) / p.views();
    const double relative = rate / influencer_rate[p.influencer()];
    for (const auto& t : d.caption_truth) {
      if (t.platform() != p.platform()) continue;
      bool match = false;
      for (const auto& h : t.hashtags())
        match |= std::find(p.hashtags().begin(), p.hashtags().end(), h) != p.hashtags().end();
      if (!match) continue;
      if (t.lift() >= 1.12) {
        high_sum += relative;
        ++high_n;
      } else if (t.lift() <= 0.9) {
        low_sum += relative;
        ++low_n;
      }
    }
  }
  ASSERT_GT(high_n, 30);
  ASSERT_GT(low_n, 30);
  // Planted lifts are ~1.2-1.35 versus ~0.75-0.9: the measured gap must be clear.
  EXPECT_GT(high_sum / high_n, 1.25 * (low_sum / low_n));
}

TEST(GeneratorTest, DefaultWorldHasTheAdvertisedShapeAndIsFast) {
  const absl::Time start = absl::Now();
  auto g = Generate(GeneratorOptions());
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(g, IsOk());
  const WorldData& d = g->data;
  std::map<int, int> by_type;
  for (const auto& i : d.interactions) by_type[i.type]++;
  std::map<std::string, int> sentiments;
  int mixed = 0, with_issue = 0, verified = 0;
  std::map<int, int> stars;
  for (size_t i = 0; i < d.reviews.size(); ++i) {
    sentiments[d.review_truth[i].sentiment()]++;
    with_issue += d.review_truth[i].issues_size() > 0;
    mixed += d.review_truth[i].sentiment() == "mixed";
    verified += d.reviews[i].verified_purchase();
    stars[d.reviews[i].rating()]++;
  }
  int deteriorating = 0;
  for (const auto& t : d.product_truth) deteriorating += t.deteriorating();
  printf(
      "generated in %s: products=%zu customers=%zu reviews=%zu interactions=%zu (view=%d cart=%d purchase=%d "
      "rating=%d) posts=%zu contacts=%zu influencers=%zu deteriorating=%d issue_reviews=%d mixed=%d\n",
      absl::FormatDuration(took).c_str(), d.products.size(), d.customers.size(), d.reviews.size(),
      d.interactions.size(), by_type[1], by_type[2], by_type[3], by_type[4], d.posts.size(),
      d.contacts.size(), d.influencer_truth.size(), deteriorating, with_issue, mixed);
  printf("stars: 1=%d 2=%d 3=%d 4=%d 5=%d; sentiment: pos=%d neg=%d neu=%d mixed=%d\n", stars[1], stars[2],
         stars[3], stars[4], stars[5], sentiments["positive"], sentiments["negative"], sentiments["neutral"],
         sentiments["mixed"]);
  EXPECT_EQ(d.products.size(), 1000u);
  EXPECT_GE(d.reviews.size(), 15000u);  // tens of thousands
  EXPECT_LE(d.reviews.size(), 60000u);
  EXPECT_GT(by_type[1], 4 * by_type[2]);  // views >> carts >> purchases
  EXPECT_GT(by_type[2], 2 * by_type[3]);
  EXPECT_GT(by_type[4], 0);
  EXPECT_GT(deteriorating, 20);
  EXPECT_GT(with_issue, 500);
  EXPECT_GT(mixed, 500);
  EXPECT_GT(verified, static_cast<int>(d.reviews.size() * 8 / 10));
  EXPECT_GT(stars[5], stars[1]);
  EXPECT_GT(d.posts.size(), 100u);
  EXPECT_GT(d.contacts.size(), 500u);
  // History spans about two years.
  EXPECT_LT(FromProto(d.reviews.front().created_at()), d.now - absl::Hours(24 * 600));
  EXPECT_LT(took, absl::Seconds(20));  // fastbuild, sanitizer-free; ~1-2 s optimised
  ExpectPlantedCaptionEffect(d);
}

TEST(GeneratorTest, DeterioratingProductsGetWorseAndIssuesShowUp) {
  GeneratorOptions o;
  o.products = 400;
  o.seed = 11;
  auto g = Generate(o);
  ASSERT_THAT(g, IsOk());
  const WorldData& d = g->data;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < d.products.size(); ++i) index[d.products[i].id()] = i;
  double before_sum = 0, after_sum = 0;
  int before_n = 0, after_n = 0, issue_after = 0;
  for (size_t i = 0; i < d.reviews.size(); ++i) {
    const auto& t = d.product_truth[index[d.reviews[i].product_id()]];
    if (!t.deteriorating()) continue;
    if (FromProto(d.reviews[i].created_at()) < FromProto(t.deteriorating_since())) {
      before_sum += d.reviews[i].rating();
      ++before_n;
    } else {
      after_sum += d.reviews[i].rating();
      ++after_n;
      issue_after += d.review_truth[i].issues_size() > 0;
    }
  }
  ASSERT_GT(before_n, 20);
  ASSERT_GT(after_n, 20);
  EXPECT_GT(before_sum / before_n, after_sum / after_n + 0.8);
  EXPECT_GT(issue_after, after_n / 5);
}

TEST(GeneratorTest, ShoppersFollowTheirTasteCluster) {
  auto g = Generate(Small(5));
  ASSERT_THAT(g, IsOk());
  const WorldData& d = g->data;
  // Share of a customer's views in their cluster's top category, versus the 1/12 of a random shopper.
  int in_top = 0, total = 0;
  for (const auto& i : d.interactions) {
    if (i.type != v1::INTERACTION_TYPE_VIEW) continue;
    const auto& t = d.customer_truth[i.customer];
    in_top += d.products[i.product].category() == t.preferred_categories(0);
    ++total;
  }
  ASSERT_GT(total, 1000);
  EXPECT_GT(static_cast<double>(in_top) / total, 0.35);
}

}  // namespace
}  // namespace marketlens::marketplace
