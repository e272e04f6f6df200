// Crawls of a real marketplace (the marketplace service over a small generated world, in this process) into
// a real PostgreSQL with the real migrations: nothing lost under injected faults, the real rate limit never
// hit, incremental crawls fetch only changes, price changes and review edits keep history, new and edited
// reviews are announced on a real Redis stream, a page that keeps failing is given up with the reason.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/redis/client.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/collector/crawler.h"
#include "services/collector/marketplace_client.h"
#include "services/collector/marketplace_fixture.h"
#include "services/collector/review_publisher.h"
#include "services/marketplace/simulated_clock.h"

namespace marketlens::collector {
namespace {

using ::marketlens::testing::CreateMigratedDatabase;

using ::marketlens::testing::IsOk;
using ::marketlens::testing::PostgresServer;
namespace mp = ::marketlens::marketplace;

// A collector wired to one marketplace and one database, with its own metrics.
struct Collector {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  CollectorMetrics metrics{registry};
  std::unique_ptr<MarketplaceClient> client;
  std::unique_ptr<redis::RedisClient> redis;
  std::unique_ptr<ReviewPublisher> publisher;
  std::unique_ptr<CrawlManager> manager;

  ~Collector() {
    if (manager) manager->Stop();
    if (publisher) publisher->Stop();
  }
};

MarketplaceClientOptions FastClient() {
  MarketplaceClientOptions o;
  o.rate_per_second = 1000;
  o.burst = 10;
  o.call_timeout = absl::Milliseconds(400);
  o.max_attempts = 12;
  o.min_retry_window = absl::ZeroDuration();  // tries alone decide (MinRetryWindow... tests the window)
  o.backoff = {absl::Milliseconds(2), absl::Milliseconds(50), 2.0, 0};
  return o;
}

CrawlerOptions TestCrawler(int page_size = 100) {
  CrawlerOptions o;
  o.owner = "test-instance";
  o.lease = absl::Seconds(5);
  o.tick = absl::Milliseconds(50);
  o.progress_interval = absl::Seconds(2);
  o.page_size = page_size;
  return o;
}

std::set<std::string> Ids(postgres::PgPool& pool, const std::string& table) {
  auto r = pool.Exec(absl::StrCat("SELECT id FROM ", table));
  EXPECT_THAT(r, IsOk());
  std::set<std::string> ids;
  if (r.ok()) {
    for (const auto& row : *r) ids.insert(row[0].as<std::string>());
  }
  return ids;
}

template <typename T>
std::set<std::string> WorldIds(const std::vector<T>& items) {
  std::set<std::string> ids;
  for (const auto& item : items) ids.insert(item.id());
  return ids;
}

std::set<std::string> InteractionIds(const mp::WorldData& d) {
  std::set<std::string> ids;
  for (size_t i = 0; i < d.interactions.size(); ++i) ids.insert(mp::InteractionId(i));
  return ids;
}

class CrawlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = PostgresServer::StartOrDie().release(); }
  static void TearDownTestSuite() { delete pg_; }

  void SetUp() override {
    auto db = CreateMigratedDatabase(*pg_, {.pool_size = 8});
    ASSERT_THAT(db, IsOk());
    pool_ = std::move(db->pool);
  }

  std::unique_ptr<testing::Marketplace> StartMarketplace(int products, mp::ServiceOptions service) {
    testing::MarketplaceOptions o;
    o.products = products;
    o.service = service;
    auto m = testing::Marketplace::Start(o);
    EXPECT_THAT(m, IsOk());
    return m.ok() ? *std::move(m) : nullptr;
  }

  std::unique_ptr<Collector> MakeCollector(const testing::Marketplace& m,
                                           MarketplaceClientOptions client_options,
                                           CrawlerOptions crawler_options,
                                           redis::RedisClient* redis = nullptr) {
    auto c = std::make_unique<Collector>();
    c->client = std::make_unique<MarketplaceClient>(
        grpc::CreateChannel(m.address(), grpc::InsecureChannelCredentials()), client_options, &c->metrics);
    if (redis != nullptr) {
      ReviewPublisherOptions po;
      po.interval = absl::Milliseconds(50);
      po.max_backoff = absl::Milliseconds(200);
      c->publisher = std::make_unique<ReviewPublisher>(pool_.get(), redis, po, &c->metrics);
      c->publisher->Start();
    }
    c->manager = std::make_unique<CrawlManager>(pool_.get(), c->client.get(), c->publisher.get(),
                                                crawler_options, &c->metrics);
    c->manager->Start();
    return c;
  }

  CrawlRow WaitForEnd(Collector& c, const std::string& id, absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time until = absl::Now() + timeout;
    for (;;) {
      auto row = c.manager->store().GetCrawl(id);
      EXPECT_THAT(row, IsOk());
      if (!row.ok()) return CrawlRow();
      if (row->state != "running" && row->state != "pending") {
        // Let the crawl thread wind down too.
        while (c.manager->running() > 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
        return *row;
      }
      if (absl::Now() > until) {
        ADD_FAILURE() << "crawl " << id << " still " << row->state << " after " << timeout;
        return *row;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  int64_t Count(const std::string& sql) {
    auto r = pool_->Exec(sql);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  }

  std::map<std::string, CheckpointRow> Checkpoints(Collector& c, const std::string& id) {
    auto cps = c.manager->store().GetCheckpoints(id);
    EXPECT_THAT(cps, IsOk());
    std::map<std::string, CheckpointRow> out;
    if (cps.ok()) {
      for (auto& cp : *cps) out[cp.resource] = cp;
    }
    return out;
  }

  // raw.* holds exactly what the marketplace holds.
  void ExpectSameAsWorld(testing::Marketplace& m) {
    const mp::WorldData d = m.world().Snapshot();
    EXPECT_EQ(Ids(*pool_, "raw.products"), WorldIds(d.products));
    EXPECT_EQ(Ids(*pool_, "raw.reviews"), WorldIds(d.reviews));
    EXPECT_EQ(Ids(*pool_, "raw.customers"), WorldIds(d.customers));
    EXPECT_EQ(Ids(*pool_, "raw.interactions"), InteractionIds(d));
    EXPECT_EQ(Ids(*pool_, "raw.campaign_posts"), WorldIds(d.posts));
    EXPECT_EQ(Ids(*pool_, "raw.contacts"), WorldIds(d.contacts));
    // And the marketplace's own counts.
    const mp::v1::WorldInfo info = m.world().Info();
    EXPECT_EQ(Count("SELECT count(*) FROM raw.products"), info.products());
    EXPECT_EQ(Count("SELECT count(*) FROM raw.reviews"), info.reviews());
    EXPECT_EQ(Count("SELECT count(*) FROM raw.interactions"), info.interactions());
  }

  static PostgresServer* pg_;
  std::unique_ptr<postgres::PgPool> pool_;
};
PostgresServer* CrawlTest::pg_ = nullptr;

TEST_F(CrawlTest, FullCrawlWithTenPercentFaultsLosesNothing) {
  mp::ServiceOptions service = testing::OpenService();
  service.faults.unavailable_rate = 0.05;
  service.faults.internal_rate = 0.03;
  service.faults.slow_rate = 0.02;
  service.faults.slow_past_deadline = absl::Milliseconds(50);
  service.fault_seed = 42;
  auto m = StartMarketplace(25, service);
  ASSERT_NE(m, nullptr);
  const mp::v1::WorldInfo info = m->world().Info();
  std::cerr << "world: products=" << info.products() << " reviews=" << info.reviews()
            << " customers=" << info.customers() << " interactions=" << info.interactions()
            << " posts=" << info.campaign_posts() << " contacts=" << info.contacts() << "\n";

  auto c = MakeCollector(*m, FastClient(), TestCrawler(100));
  auto crawl = c->manager->StartCrawl("full", {});
  ASSERT_THAT(crawl, IsOk());
  const CrawlRow end = WaitForEnd(*c, crawl->id);
  EXPECT_EQ(end.state, "succeeded") << end.last_error;
  EXPECT_EQ(end.errors, 0);
  EXPECT_GT(end.retries, 0) << "10% faults should have caused retries";
  EXPECT_GT(testing::CounterValue(*m->registry(), "marketplace_faults_injected_total"), 0);
  ExpectSameAsWorld(*m);

  // Each item once, each page once: the checkpoints add up to the world.
  auto cps = Checkpoints(*c, crawl->id);
  EXPECT_EQ(cps["products"].items, info.products());
  EXPECT_EQ(cps["reviews"].items, info.reviews());
  EXPECT_EQ(cps["interactions"].items, info.interactions());
  EXPECT_EQ(cps["interactions"].pages, (info.interactions() + 99) / 100);
  for (const auto& [name, cp] : cps) {
    EXPECT_TRUE(cp.done) << name;
    EXPECT_EQ(cp.expected_items, cp.items) << name;
  }
  // First sight: one snapshot per product, one version per review, one announcement per review.
  EXPECT_EQ(Count("SELECT count(*) FROM raw.product_snapshots"), info.products());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.review_versions"), info.reviews());
  EXPECT_EQ(Count("SELECT count(*) FROM ops.review_outbox WHERE event = 'created'"), info.reviews());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.campaign_posts WHERE views > 0 AND "
                  "engagement_rate IS NULL"),
            0);
  // Captions and hashtags exactly as the marketplace has them.
  const mp::WorldData d = m->world().Snapshot();
  auto stored = pool_->Exec(
      "SELECT id, caption, array_to_string(hashtags, ' ') FROM "
      "raw.campaign_posts");
  ASSERT_THAT(stored, IsOk());
  std::map<std::string, std::pair<std::string, std::string>> by_id;
  for (const auto& row : *stored) {
    by_id[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  ASSERT_EQ(by_id.size(), d.posts.size());
  for (const auto& p : d.posts) {
    ASSERT_FALSE(p.caption().empty());
    EXPECT_EQ(by_id[p.id()].first, p.caption()) << p.id();
    EXPECT_EQ(by_id[p.id()].second, absl::StrJoin(p.hashtags(), " ")) << p.id();
  }
}

TEST_F(CrawlTest, StaysUnderTheRealRateLimitWithZeroResourceExhausted) {
  mp::ServiceOptions service = testing::OpenService();
  service.rate_limit_rps = 5;  // the marketplace's real limit (and its default burst)
  service.rate_limit_burst = 10;
  auto m = StartMarketplace(15, service);
  ASSERT_NE(m, nullptr);
  const mp::v1::WorldInfo info = m->world().Info();
  MarketplaceClientOptions client;  // the defaults the binary uses
  client.call_timeout = absl::Seconds(2);
  auto c = MakeCollector(*m, client, TestCrawler(5));
  const absl::Time start = absl::Now();
  auto crawl = c->manager->StartCrawl("full", {"products", "customers"});
  ASSERT_THAT(crawl, IsOk());
  const CrawlRow end = WaitForEnd(*c, crawl->id, absl::Seconds(30));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(end.state, "succeeded") << end.last_error;
  const int64_t requests =
      static_cast<int64_t>(testing::CounterValue(*c->registry, "collector_marketplace_requests_total"));
  const int64_t pages = (info.products() + 4) / 5 + (info.customers() + 4) / 5;
  ASSERT_GT(pages, 20);            // well past the server's burst of 10
  EXPECT_EQ(requests, pages + 1);  // + GetWorldInfo; no retries needed
  EXPECT_EQ(end.rate_limited, 0);
  EXPECT_EQ(testing::CounterValue(*m->registry(), "marketplace_rate_limited_total"), 0);
  EXPECT_EQ(testing::CounterValue(*c->registry, "collector_crawl_rate_limited_total"), 0);
  // The client limiter really paced the requests (the server's burst of 10 would have allowed faster).
  EXPECT_GE(took, absl::Seconds((requests - 1) / client.rate_per_second) - absl::Milliseconds(100));
  EXPECT_LE(took, absl::Seconds(requests / client.rate_per_second) + absl::Seconds(2));
  EXPECT_EQ(Count("SELECT count(*) FROM raw.customers"), info.customers());
  std::cerr << "requests=" << requests << " took=" << took << "\n";
}

TEST_F(CrawlTest, IncrementalCrawlPicksUpOnlyChangesAndKeepsHistory) {
  auto m = StartMarketplace(20, testing::OpenService());
  ASSERT_NE(m, nullptr);
  auto c = MakeCollector(*m, FastClient(), TestCrawler(50));
  auto full = c->manager->StartCrawl("incremental", {});  // the first crawl of each resource is full
  ASSERT_THAT(full, IsOk());
  ASSERT_EQ(WaitForEnd(*c, full->id).state, "succeeded");
  for (const auto& [name, cp] : Checkpoints(*c, full->id)) EXPECT_FALSE(cp.since.has_value()) << name;
  const mp::WorldData before = m->world().Snapshot();
  ASSERT_THAT(pool_->Exec("DELETE FROM ops.review_outbox"), IsOk());

  // Two simulated days of shop life: sessions, reviews, edits, price changes, restocks, contacts.
  mp::ClockOptions clock_options;
  clock_options.seed = 5;
  clock_options.price_changes_per_product_day = 0.2;  // some prices change, not all
  clock_options.edits_per_review = 0.5;
  mp::SimulatedClock clock(&m->world(), m->model(), clock_options);
  const auto stats = clock.Advance(absl::Hours(48));
  // And one price change and one review edit we know about.
  const absl::Time t = m->world().Now() + absl::Minutes(5);
  m->world().AdvanceTo(t);
  ASSERT_THAT(m->world().UpdateProduct(0, before.products[0].price_cents() + 1234, std::nullopt, t), IsOk());
  ASSERT_THAT(m->world().EditReview(0, 1, "Changed my mind", "It broke after a week.", std::nullopt, t),
              IsOk());
  // A customer and a campaign post we know changed.
  ASSERT_THAT(m->world().UpdateCustomerSegment(1, "loyal", t), IsOk());
  const mp::v1::CampaignPost post1 = *m->world().PostAt(1);
  ASSERT_TRUE(
      m->world()
          .UpdatePostCounts(1, post1.views() + 5000, post1.likes() + 700, post1.comments(), post1.shares(), t)
          .ok());
  std::cerr << "clock: sessions=" << stats.sessions << " interactions=" << stats.interactions
            << " reviews=" << stats.reviews << " edits=" << stats.edits
            << " price_changes=" << stats.price_changes << " restocks=" << stats.restocks
            << " contacts=" << stats.contacts << "\n";
  const mp::WorldData after = m->world().Snapshot();

  auto inc = c->manager->StartCrawl("incremental", {});
  ASSERT_THAT(inc, IsOk());
  ASSERT_EQ(WaitForEnd(*c, inc->id).state, "succeeded");
  ExpectSameAsWorld(*m);

  // Only what changed since the full crawl began (minus the overlap) was fetched.
  auto cps = Checkpoints(*c, inc->id);
  ASSERT_TRUE(cps["products"].since.has_value());
  const absl::Time since = *cps["products"].since;
  auto changed_since = [&](const google::protobuf::Timestamp& ts) {
    return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()) >= since;
  };
  int64_t products = 0, reviews = 0, contacts = 0, interactions = 0, customers = 0, posts = 0;
  for (const auto& p : after.products) products += changed_since(p.updated_at());
  for (const auto& c : after.customers) customers += changed_since(c.updated_at());
  for (const auto& p : after.posts) posts += changed_since(p.updated_at());
  for (const auto& r : after.reviews) reviews += changed_since(r.updated_at());
  for (const auto& k : after.contacts) contacts += changed_since(k.started_at());
  for (const auto& i : after.interactions) interactions += absl::FromUnixMicros(i.time_us) >= since;
  EXPECT_EQ(cps["products"].items, products);
  EXPECT_EQ(cps["reviews"].items, reviews);
  EXPECT_EQ(cps["contacts"].items, contacts);
  EXPECT_EQ(cps["interactions"].items, interactions);
  EXPECT_LT(cps["products"].items, static_cast<int64_t>(after.products.size()));
  EXPECT_LT(cps["interactions"].items, static_cast<int64_t>(after.interactions.size()));
  EXPECT_GT(cps["reviews"].items, 0);
  // Customers and campaign posts too: only the changed ones, stored with their new values.
  EXPECT_EQ(cps["customers"].items, customers);
  EXPECT_EQ(cps["campaign_posts"].items, posts);
  EXPECT_GE(customers, 1);
  EXPECT_GE(posts, 1);
  EXPECT_LT(customers, static_cast<int64_t>(after.customers.size()));
  EXPECT_LT(posts, static_cast<int64_t>(after.posts.size()));
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM raw.customers WHERE "
                               "segment = 'loyal' AND id = '",
                               after.customers[1].id(), "'")),
            1);
  EXPECT_EQ(Count(absl::StrCat("SELECT views FROM raw.campaign_posts WHERE id = '", post1.id(), "'")),
            post1.views() + 5000);

  // Price history: a new snapshot exactly for the products whose price, stock or rating changed.
  int64_t changed_products = 0;
  for (size_t i = 0; i < after.products.size(); ++i) {
    const auto& a = before.products[i];
    const auto& b = after.products[i];
    changed_products += a.price_cents() != b.price_cents() || a.stock() != b.stock() ||
                        a.rating_average() != b.rating_average() || a.rating_count() != b.rating_count();
  }
  EXPECT_GT(changed_products, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.product_snapshots"),
            static_cast<int64_t>(after.products.size()) + changed_products);
  const std::string p0 = after.products[0].id();
  auto history =
      pool_->Exec("SELECT price_cents FROM raw.product_snapshots WHERE product_id = $1 ORDER BY seen_at", p0);
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0][0].as<int64_t>(), before.products[0].price_cents());
  EXPECT_EQ((*history)[1][0].as<int64_t>(), before.products[0].price_cents() + 1234);
  EXPECT_EQ(Count(absl::StrCat("SELECT price_cents FROM raw.products WHERE id = '", p0, "'")),
            before.products[0].price_cents() + 1234);
  // The append-only history cannot be rewritten.
  EXPECT_FALSE(pool_->Exec("UPDATE raw.product_snapshots SET price_cents = 0").ok());

  // Review edits keep their previous versions, and are announced.
  const std::string r0 = after.reviews[0].id();
  auto versions =
      pool_->Exec("SELECT version, title FROM raw.review_versions WHERE review_id = $1 ORDER BY version", r0);
  ASSERT_THAT(versions, IsOk());
  ASSERT_GE(versions->size(), 2u);
  EXPECT_EQ(versions->back()[1].as<std::string>(), "Changed my mind");
  EXPECT_NE((*versions)[0][1].as<std::string>(), "Changed my mind");
  EXPECT_EQ(Count(absl::StrCat(
                "SELECT count(*) FROM ops.review_outbox WHERE event = 'edited' AND review_id = '", r0, "'")),
            1);
  int64_t new_reviews = static_cast<int64_t>(after.reviews.size() - before.reviews.size());
  int64_t edited = 0;
  for (size_t i = 0; i < before.reviews.size(); ++i)
    edited += after.reviews[i].version() != before.reviews[i].version();
  EXPECT_EQ(Count("SELECT count(*) FROM ops.review_outbox WHERE event = 'created'"), new_reviews);
  EXPECT_EQ(Count("SELECT count(*) FROM ops.review_outbox WHERE event = 'edited'"), edited);
}

TEST_F(CrawlTest, NewAndEditedReviewsAreAnnouncedOnTheStreamEvenAcrossARedisOutage) {
  auto redis_server = marketlens::testing::RedisServer::Create();
  ASSERT_THAT(redis_server, IsOk());
  redis::RedisOptions ro;
  ro.port = (*redis_server)->port();
  ro.down_backoff = absl::Milliseconds(100);
  redis::RedisClient redis(ro);
  auto m = StartMarketplace(10, testing::OpenService());
  ASSERT_NE(m, nullptr);
  auto c = MakeCollector(*m, FastClient(), TestCrawler(), &redis);
  const int64_t reviews = m->world().Info().reviews();

  // The analyzer's consumer group exists before anything is published, and reads every entry.
  ASSERT_THAT(redis.XGroupCreate(kReviewStream, "analyzer"), IsOk());
  auto crawl = c->manager->StartCrawl("full", {"reviews"});
  ASSERT_THAT(crawl, IsOk());
  ASSERT_EQ(WaitForEnd(*c, crawl->id).state, "succeeded");
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (Count("SELECT count(*) FROM ops.review_outbox") > 0 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::map<std::string, int> versions;
  for (const auto& r : m->world().Snapshot().reviews) versions[r.id()] = r.version();
  std::set<std::string> announced;
  for (;;) {
    auto entries = redis.XReadGroup("analyzer", "a1", kReviewStream, 1000, 0);
    ASSERT_THAT(entries, IsOk());
    if (entries->empty()) break;
    for (const auto& e : *entries) {
      ASSERT_NE(e.Find("review_id"), nullptr);
      EXPECT_EQ(*e.Find("event"), "created");
      EXPECT_NE(e.Find("product_id"), nullptr);
      EXPECT_EQ(*e.Find("version"), absl::StrCat(versions[*e.Find("review_id")]));
      announced.insert(*e.Find("review_id"));
    }
  }
  EXPECT_EQ(static_cast<int64_t>(announced.size()), reviews);

  // Redis goes down; a review is edited and crawled: the announcement waits in Postgres, then arrives.
  ASSERT_THAT((*redis_server)->Stop(), IsOk());
  const absl::Time t = m->world().Now() + absl::Hours(1);
  m->world().AdvanceTo(t);
  ASSERT_THAT(m->world().EditReview(3, 2, "Meh", "Worse than I thought.", std::nullopt, t), IsOk());
  auto inc = c->manager->StartCrawl("incremental", {"reviews"});
  ASSERT_THAT(inc, IsOk());
  ASSERT_EQ(WaitForEnd(*c, inc->id).state, "succeeded");
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Count("SELECT count(*) FROM ops.review_outbox WHERE event = 'edited'"), 1);
  EXPECT_GT(testing::CounterValue(*c->registry, "collector_stream_publish_errors_total"), 0);
  ASSERT_THAT((*redis_server)->Start(), IsOk());
  const absl::Time until2 = absl::Now() + absl::Seconds(10);
  while (Count("SELECT count(*) FROM ops.review_outbox") > 0 && absl::Now() < until2) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  // Redis restarted empty (no persistence in the fixture): the group is recreated by the consumer, which
  // then sees the entry published after the outage.
  ASSERT_THAT(redis.XGroupCreate(kReviewStream, "analyzer"), IsOk());
  auto entries = redis.XReadGroup("analyzer", "a1", kReviewStream, 100, 0);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(*(*entries)[0].Find("event"), "edited");
  const auto edited = m->world().Snapshot().reviews[3];
  EXPECT_EQ(*(*entries)[0].Find("review_id"), edited.id());
  EXPECT_EQ(*(*entries)[0].Find("version"), absl::StrCat(edited.version()));
  EXPECT_EQ(edited.version(), versions[edited.id()] + 1);
}

TEST_F(CrawlTest, SlowAnswersCostAShortAdaptiveDeadlineNotTheFullOne) {
  mp::ServiceOptions service = testing::OpenService();
  service.faults.slow_rate = 0.3;  // sleeps past the caller's deadline
  service.fault_seed = 9;
  auto m = StartMarketplace(10, service);
  ASSERT_NE(m, nullptr);
  MarketplaceClientOptions o = FastClient();
  o.call_timeout = absl::Seconds(5);
  o.min_attempt_timeout = absl::Milliseconds(200);
  CollectorMetrics metrics(std::make_shared<prometheus::Registry>());
  MarketplaceClient client(grpc::CreateChannel(m->address(), grpc::InsecureChannelCredentials()), o,
                           &metrics);
  // Until it has seen answers, a try gets the full call_timeout.
  EXPECT_EQ(client.AttemptTimeout(0), absl::Seconds(5));
  StopSignal stop;
  int calls = 0, requests = 0, slow = 0;
  absl::Time start = absl::Now();
  mp::v1::ListCustomersRequest req;
  req.set_page_size(5);
  for (int i = 0; i < 40; ++i) {
    if (i == 10) {  // warmed up: from here on, the adaptive deadline applies
      start = absl::Now();
      calls = requests = slow = 0;
    }
    mp::v1::ListCustomersResponse resp;
    CallOutcome outcome;
    const absl::Status st = client.ListCustomers(req, &resp, stop, &outcome);
    ASSERT_THAT(st, IsOk());
    ++calls;
    requests += outcome.requests;
    slow += outcome.retries;
    req.set_page_token(resp.next_page_token());
  }
  const absl::Duration took = absl::Now() - start;
  std::cerr << "calls=" << calls << " requests=" << requests << " retried=" << slow << " took=" << took
            << " attempt_timeout=" << client.AttemptTimeout(0) << "\n";
  ASSERT_GT(slow, 3);
  // Waiting out 5 s per slow answer would take > slow * 5 s; the adaptive deadline is a fraction of that.
  EXPECT_LT(client.AttemptTimeout(0), absl::Seconds(1));
  EXPECT_GE(client.AttemptTimeout(0), absl::Milliseconds(200));
  EXPECT_LT(took, absl::Seconds(slow));
  // Each DEADLINE_EXCEEDED in a row doubles the next try's deadline, up to call_timeout.
  EXPECT_EQ(client.AttemptTimeout(1), 2 * client.AttemptTimeout(0));
  EXPECT_EQ(client.AttemptTimeout(10), absl::Seconds(5));
}

TEST_F(CrawlTest, HonoursRetryAfterWhenTheServerRefuses) {
  mp::ServiceOptions service = testing::OpenService();
  service.rate_limit_rps = 20;  // far under the (misconfigured) client's 1000/s
  service.rate_limit_burst = 1;
  auto m = StartMarketplace(10, service);
  ASSERT_NE(m, nullptr);
  const mp::v1::WorldInfo info = m->world().Info();
  auto c = MakeCollector(*m, FastClient(), TestCrawler(10));
  const absl::Time start = absl::Now();
  auto crawl = c->manager->StartCrawl("full", {"products", "customers"});
  ASSERT_THAT(crawl, IsOk());
  const CrawlRow end = WaitForEnd(*c, crawl->id);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(end.state, "succeeded") << end.last_error;
  EXPECT_EQ(Count("SELECT count(*) FROM raw.customers"), info.customers());
  const double refused = testing::CounterValue(*m->registry(), "marketplace_rate_limited_total");
  EXPECT_GT(refused, 0);
  EXPECT_EQ(end.rate_limited, static_cast<int64_t>(refused));
  EXPECT_EQ(end.errors, 0);
  // Waiting retry-after-ms each time keeps the refusals to about one per accepted request at most (a
  // client that ignored it and retried at once would be refused many times per page).
  const int64_t pages = (info.products() + 9) / 10 + (info.customers() + 9) / 10;
  EXPECT_LE(refused, 2.0 * (pages + 1));
  EXPECT_GE(took, absl::Seconds(pages / 20.0) - absl::Milliseconds(200));
}

TEST_F(CrawlTest, MinRetryWindowKeepsRetryingAfterTheTriesAreSpent) {
  // A marketplace restart: tries that fail fast must not all be spent before it is back.
  mp::ServiceOptions service = testing::OpenService();
  service.faults.unavailable_rate = 1.0;
  auto m = StartMarketplace(5, service);
  ASSERT_NE(m, nullptr);
  MarketplaceClientOptions client = FastClient();
  client.max_attempts = 3;
  client.min_retry_window = absl::Milliseconds(600);
  auto c = MakeCollector(*m, client, TestCrawler());
  const absl::Time start = absl::Now();
  auto crawl = c->manager->StartCrawl("full", {"products"});
  ASSERT_THAT(crawl, IsOk());
  const CrawlRow end = WaitForEnd(*c, crawl->id);
  EXPECT_EQ(end.state, "failed");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(600));
  EXPECT_GT(end.retries, 2);  // more than max_attempts - 1: the window, not the count, ended the call
  EXPECT_NE(end.last_error.find("UNAVAILABLE"), std::string::npos) << end.last_error;
}

TEST_F(CrawlTest, APageThatKeepsFailingIsGivenUpWithTheReason) {
  mp::ServiceOptions service = testing::OpenService();
  service.faults.unavailable_rate = 1.0;  // every list call; GetWorldInfo is never faulted
  auto m = StartMarketplace(5, service);
  ASSERT_NE(m, nullptr);
  MarketplaceClientOptions client = FastClient();
  client.max_attempts = 3;
  auto c = MakeCollector(*m, client, TestCrawler());
  auto crawl = c->manager->StartCrawl("full", {"products", "reviews"});
  ASSERT_THAT(crawl, IsOk());
  const CrawlRow end = WaitForEnd(*c, crawl->id);
  EXPECT_EQ(end.state, "failed");
  EXPECT_EQ(end.errors, 2);
  EXPECT_NE(end.last_error.find("gave up after 3 tries"), std::string::npos) << end.last_error;
  EXPECT_NE(end.last_error.find("UNAVAILABLE"), std::string::npos) << end.last_error;
  EXPECT_EQ(end.retries, 4);  // 2 retries per page
  EXPECT_EQ(Count("SELECT count(*) FROM ops.crawl_errors WHERE code = 'UNAVAILABLE' AND attempts = 3"), 2);
  auto cps = Checkpoints(*c, crawl->id);
  EXPECT_FALSE(cps["products"].done);
  EXPECT_NE(cps["products"].error.find("gave up"), std::string::npos);
  EXPECT_EQ(testing::CounterValue(*c->registry, "collector_crawl_page_failures_total"), 2);
  // A failed walk does not move the watermark: the next incremental crawl of it is full again.
  auto since = c->manager->store().IncrementalSince("products");
  ASSERT_THAT(since, IsOk());
  EXPECT_FALSE(since->has_value());
}

TEST_F(CrawlTest, CancelStopsTheCrawlAndOneCrawlRunsAtATime) {
  auto m = StartMarketplace(10, testing::OpenService());
  ASSERT_NE(m, nullptr);
  MarketplaceClientOptions client = FastClient();
  client.rate_per_second = 5;
  client.burst = 1;
  auto c = MakeCollector(*m, client, TestCrawler(10));
  auto crawl = c->manager->StartCrawl("full", {});
  ASSERT_THAT(crawl, IsOk());
  auto second = c->manager->StartCrawl("full", {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();
  absl::SleepFor(absl::Seconds(1));
  auto cancelled = c->manager->CancelCrawl(crawl->id);
  ASSERT_THAT(cancelled, IsOk());
  EXPECT_EQ(cancelled->state, "cancelled");
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (c->manager->running() > 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(c->manager->running(), 0);
  const int64_t pages = Count(absl::StrCat("SELECT pages FROM ops.crawls WHERE id = '", crawl->id, "'"));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(Count(absl::StrCat("SELECT pages FROM ops.crawls WHERE id = '", crawl->id, "'")), pages);
  EXPECT_GT(pages, 0);
  EXPECT_EQ(c->manager->CancelCrawl(crawl->id)->state, "cancelled");  // idempotent
  // Now another crawl may start.
  auto third = c->manager->StartCrawl("incremental", {"products"});
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(WaitForEnd(*c, third->id).state, "succeeded");
  EXPECT_EQ(c->manager->CancelCrawl(third->id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c->manager->StartCrawl("full", {"nope"}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::collector
