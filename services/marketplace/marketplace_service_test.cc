// The marketplace API end to end: a real in-process gRPC server on 127.0.0.1 and a real client stub.
#include "services/marketplace/marketplace_service.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/retry/clock.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "services/marketplace/generator.h"
#include "services/marketplace/simulated_clock.h"
#include "services/marketplace/world.h"

namespace marketlens::marketplace {
namespace {

using ::marketlens::testing::IsOk;
using v1::MarketplaceService;

ServiceOptions Open() {
  ServiceOptions o;
  o.rate_limit_rps = 0;  // off
  o.faults = FaultConfig::None();
  o.fault_seed = 1;
  return o;
}

class Server {
 public:
  Server(World* world, ServiceOptions options) : service_(world, std::move(options)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials());
    stub_ = MarketplaceService::NewStub(channel_);
  }
  ~Server() { server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1))); }

  MarketplaceService::Stub& stub() { return *stub_; }
  std::unique_ptr<MarketplaceService::Stub> NewStub() {
    return MarketplaceService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }

 private:
  MarketplaceServiceImpl service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<MarketplaceService::Stub> stub_;
};

void Deadline(grpc::ClientContext* ctx, absl::Duration d = absl::Seconds(10)) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + d));
}

class MarketplaceServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    GeneratorOptions o;
    o.products = 150;
    o.seed = 99;
    auto g = Generate(o);
    ASSERT_THAT(g, IsOk());
    model_ = new std::shared_ptr<const PlantedModel>(g->model);
    data_ = new WorldData(std::move(g->data));
  }
  static void TearDownTestSuite() {
    delete data_;
    delete model_;
  }
  void SetUp() override {
    auto w = World::Create(*data_);
    ASSERT_THAT(w, IsOk());
    world_ = *std::move(w);
  }

  static WorldData* data_;
  static std::shared_ptr<const PlantedModel>* model_;
  std::unique_ptr<World> world_;
};
WorldData* MarketplaceServiceTest::data_ = nullptr;
std::shared_ptr<const PlantedModel>* MarketplaceServiceTest::model_ = nullptr;

// Walks a whole list through the stub, page by page; fails on an error.
template <typename Req, typename Resp, typename Call, typename Items>
std::vector<std::string> Walk(Req req, Call call, Items items, int* pages = nullptr,
                              std::function<void()> between = {}) {
  std::vector<std::string> ids;
  for (int n = 0; n < 100000; ++n) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    Resp resp;
    grpc::Status s = call(&ctx, req, &resp);
    EXPECT_THAT(s, IsOk());
    if (!s.ok()) return ids;
    for (const auto& item : items(resp)) ids.push_back(item.id());
    if (pages != nullptr) ++*pages;
    if (resp.next_page_token().empty()) return ids;
    req.set_page_token(resp.next_page_token());
    if (between) between();
  }
  ADD_FAILURE() << "walk did not end";
  return ids;
}

void ExpectStrictlyIncreasing(const std::vector<std::string>& ids) {
  for (size_t i = 1; i < ids.size(); ++i)
    ASSERT_LT(ids[i - 1], ids[i]) << "duplicate or out of order at " << i;
}

TEST_F(MarketplaceServiceTest, FullWalksReturnEveryItemExactlyOnce) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  const WorldData& d = *data_;
  {
    v1::ListProductsRequest req;
    req.set_page_size(7);
    int pages = 0;
    auto ids = Walk<v1::ListProductsRequest, v1::ListProductsResponse>(
        req, [&](auto* c, auto& r, auto* o) { return stub.ListProducts(c, r, o); },
        [](const auto& r) { return r.products(); }, &pages);
    EXPECT_EQ(ids.size(), d.products.size());
    EXPECT_EQ(pages, (static_cast<int>(d.products.size()) + 6) / 7);
    ExpectStrictlyIncreasing(ids);
  }
  {
    auto ids = Walk<v1::ListReviewsRequest, v1::ListReviewsResponse>(
        v1::ListReviewsRequest(), [&](auto* c, auto& r, auto* o) { return stub.ListReviews(c, r, o); },
        [](const auto& r) { return r.reviews(); });
    EXPECT_EQ(ids.size(), d.reviews.size());
    ExpectStrictlyIncreasing(ids);
  }
  {
    auto ids = Walk<v1::ListCustomersRequest, v1::ListCustomersResponse>(
        v1::ListCustomersRequest(), [&](auto* c, auto& r, auto* o) { return stub.ListCustomers(c, r, o); },
        [](const auto& r) { return r.customers(); });
    EXPECT_EQ(ids.size(), d.customers.size());
    ExpectStrictlyIncreasing(ids);
  }
  {
    auto ids = Walk<v1::ListInteractionsRequest, v1::ListInteractionsResponse>(
        v1::ListInteractionsRequest(),
        [&](auto* c, auto& r, auto* o) { return stub.ListInteractions(c, r, o); },
        [](const auto& r) { return r.interactions(); });
    EXPECT_EQ(ids.size(), d.interactions.size());
    ExpectStrictlyIncreasing(ids);
  }
  {
    auto ids = Walk<v1::ListCampaignPostsRequest, v1::ListCampaignPostsResponse>(
        v1::ListCampaignPostsRequest(),
        [&](auto* c, auto& r, auto* o) { return stub.ListCampaignPosts(c, r, o); },
        [](const auto& r) { return r.posts(); });
    EXPECT_EQ(ids.size(), d.posts.size());
    ExpectStrictlyIncreasing(ids);
  }
  {
    auto ids = Walk<v1::ListContactsRequest, v1::ListContactsResponse>(
        v1::ListContactsRequest(), [&](auto* c, auto& r, auto* o) { return stub.ListContacts(c, r, o); },
        [](const auto& r) { return r.contacts(); });
    EXPECT_EQ(ids.size(), d.contacts.size());
    ExpectStrictlyIncreasing(ids);
  }
}

TEST_F(MarketplaceServiceTest, WalksStayExactWhileTheClockRuns) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  ClockOptions co;
  co.speed = 200000;  // ~2 simulated days per real second
  co.tick = absl::Milliseconds(5);
  co.sessions_per_hour = 40;
  co.reviews_per_hour = 20;
  co.edits_per_review = 0.3;
  co.price_changes_per_product_day = 1;
  SimulatedClock clock(world_.get(), *model_, co);
  const std::set<std::string> reviews_before = [&] {
    std::set<std::string> s;
    for (const auto& r : data_->reviews) s.insert(r.id());
    return s;
  }();
  clock.Start();
  auto pause = [] { absl::SleepFor(absl::Milliseconds(2)); };
  v1::ListReviewsRequest req;
  req.set_page_size(50);
  auto reviews = Walk<v1::ListReviewsRequest, v1::ListReviewsResponse>(
      req, [&](auto* c, auto& r, auto* o) { return stub.ListReviews(c, r, o); },
      [](const auto& r) { return r.reviews(); }, nullptr, pause);
  v1::ListProductsRequest preq;
  preq.set_page_size(9);
  auto products = Walk<v1::ListProductsRequest, v1::ListProductsResponse>(
      preq, [&](auto* c, auto& r, auto* o) { return stub.ListProducts(c, r, o); },
      [](const auto& r) { return r.products(); }, nullptr, pause);
  v1::ListInteractionsRequest ireq;
  auto interactions = Walk<v1::ListInteractionsRequest, v1::ListInteractionsResponse>(
      ireq, [&](auto* c, auto& r, auto* o) { return stub.ListInteractions(c, r, o); },
      [](const auto& r) { return r.interactions(); }, nullptr, pause);
  clock.Stop();
  const SimulatedClock::Stats t = clock.totals();
  EXPECT_GT(t.reviews, 0);
  EXPECT_GT(t.edits + t.price_changes, 0);
  // No duplicates, no gaps: every review that existed before is there once; new ones may follow.
  ExpectStrictlyIncreasing(reviews);
  std::set<std::string> seen(reviews.begin(), reviews.end());
  for (const auto& id : reviews_before) EXPECT_TRUE(seen.count(id)) << id;
  EXPECT_GE(reviews.size(), reviews_before.size());
  ExpectStrictlyIncreasing(products);
  EXPECT_EQ(products.size(), data_->products.size());
  ExpectStrictlyIncreasing(interactions);
  EXPECT_GE(interactions.size(), data_->interactions.size());
}

TEST_F(MarketplaceServiceTest, IncrementalWalkWithSinceSeesEditsAndNewReviews) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  ClockOptions co;
  co.reviews_per_hour = 10;
  co.edits_per_review = 0.5;
  SimulatedClock clock(world_.get(), *model_, co);
  const absl::Time mark = world_->Now();
  const SimulatedClock::Stats s = clock.Advance(absl::Hours(12));
  ASSERT_GT(s.reviews + s.edits, 0);
  v1::ListReviewsRequest req;
  ToProto(mark, req.mutable_since());
  auto ids = Walk<v1::ListReviewsRequest, v1::ListReviewsResponse>(
      req, [&](auto* c, auto& r, auto* o) { return stub.ListReviews(c, r, o); },
      [](const auto& r) { return r.reviews(); });
  EXPECT_GE(ids.size(), static_cast<size_t>(s.reviews));
  EXPECT_LE(ids.size(), static_cast<size_t>(s.reviews + s.edits));
  // Products whose price, stock or rating changed show up with updated_since.
  v1::ListProductsRequest preq;
  ToProto(mark, preq.mutable_updated_since());
  auto changed = Walk<v1::ListProductsRequest, v1::ListProductsResponse>(
      preq, [&](auto* c, auto& r, auto* o) { return stub.ListProducts(c, r, o); },
      [](const auto& r) { return r.products(); });
  EXPECT_GT(changed.size(), 0u);
  EXPECT_LT(changed.size(), data_->products.size());
}

TEST_F(MarketplaceServiceTest, CustomersAndCampaignPostsFilterByUpdatedSince) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  const absl::Time mark = world_->Now() + absl::Seconds(1);
  // Nothing changed after now.
  v1::ListCustomersRequest creq;
  ToProto(mark, creq.mutable_updated_since());
  auto customers = [&] {
    return Walk<v1::ListCustomersRequest, v1::ListCustomersResponse>(
        creq, [&](auto* c, auto& r, auto* o) { return stub.ListCustomers(c, r, o); },
        [](const auto& r) { return r.customers(); });
  };
  v1::ListCampaignPostsRequest preq;
  ToProto(mark, preq.mutable_updated_since());
  auto posts = [&] {
    return Walk<v1::ListCampaignPostsRequest, v1::ListCampaignPostsResponse>(
        preq, [&](auto* c, auto& r, auto* o) { return stub.ListCampaignPosts(c, r, o); },
        [](const auto& r) { return r.posts(); });
  };
  EXPECT_TRUE(customers().empty());
  EXPECT_TRUE(posts().empty());
  // Two changes after the mark: exactly those come back.
  ASSERT_THAT(world_->UpdateCustomerSegment(3, "loyal", mark + absl::Minutes(1)), IsOk());
  const v1::CampaignPost before = *world_->PostAt(5);
  ASSERT_TRUE(world_
                  ->UpdatePostCounts(5, before.views() + 100, before.likes() + 10, before.comments(),
                                     before.shares(), mark + absl::Minutes(2))
                  .ok());
  EXPECT_EQ(customers(), std::vector<std::string>{data_->customers[3].id()});
  EXPECT_EQ(posts(), std::vector<std::string>{before.id()});
  // Every customer and post has a change time (its creation when never changed); a full walk still returns
  // them all, with captions and hashtags.
  v1::ListCampaignPostsRequest all;
  grpc::ClientContext ctx;
  v1::ListCampaignPostsResponse page;
  ASSERT_THAT(stub.ListCampaignPosts(&ctx, all, &page), IsOk());
  ASSERT_GT(page.posts_size(), 0);
  for (const auto& p : page.posts()) {
    EXPECT_TRUE(p.has_updated_at());
    EXPECT_FALSE(p.caption().empty());
    EXPECT_GT(p.hashtags_size(), 0);
  }
  // A token is valid only with the filter it was issued for.
  v1::ListCustomersRequest small;
  small.set_page_size(1);
  grpc::ClientContext c1;
  v1::ListCustomersResponse r1;
  ASSERT_THAT(stub.ListCustomers(&c1, small, &r1), IsOk());
  ASSERT_FALSE(r1.next_page_token().empty());
  v1::ListCustomersRequest misuse = creq;
  misuse.set_page_token(r1.next_page_token());
  grpc::ClientContext c2;
  v1::ListCustomersResponse r2;
  EXPECT_EQ(stub.ListCustomers(&c2, misuse, &r2).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(MarketplaceServiceTest, TheClockChangesCustomersAndRecentPosts) {
  ClockOptions co;
  co.sessions_per_hour = 200;
  SimulatedClock clock(world_.get(), *model_, co);
  const absl::Time mark = world_->Now();
  SimulatedClock::Stats s = clock.Advance(absl::Hours(48));
  EXPECT_GT(s.customer_updates, 0);
  int64_t changed = world_->ListCustomers("", 100000, mark).items.size();
  EXPECT_EQ(changed, s.customer_updates);
  // Recent posts (if the world has any in its last 30 days) grow and are stamped.
  const auto recent = world_->ListCampaignPosts("", "", 100000, mark);
  EXPECT_EQ(recent.items.empty(), s.post_updates == 0);
}

TEST_F(MarketplaceServiceTest, FiltersWork) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  const std::string category = data_->products[0].category();
  v1::ListProductsRequest req;
  req.set_category(category);
  grpc::ClientContext ctx;
  v1::ListProductsResponse resp;
  ASSERT_THAT(stub.ListProducts(&ctx, req, &resp), IsOk());
  ASSERT_GT(resp.products_size(), 0);
  for (const auto& p : resp.products()) EXPECT_EQ(p.category(), category);

  const std::string product = data_->reviews[0].product_id();
  v1::ListReviewsRequest rreq;
  rreq.set_product_id(product);
  auto reviews = Walk<v1::ListReviewsRequest, v1::ListReviewsResponse>(
      rreq, [&](auto* c, auto& r, auto* o) { return stub.ListReviews(c, r, o); },
      [](const auto& r) { return r.reviews(); });
  size_t expected = 0;
  for (const auto& r : data_->reviews) expected += r.product_id() == product;
  EXPECT_EQ(reviews.size(), expected);

  const std::string customer = data_->customers[3].id();
  v1::ListInteractionsRequest ireq;
  ireq.set_customer_id(customer);
  grpc::ClientContext ictx;
  v1::ListInteractionsResponse iresp;
  ASSERT_THAT(stub.ListInteractions(&ictx, ireq, &iresp), IsOk());
  for (const auto& i : iresp.interactions()) EXPECT_EQ(i.customer_id(), customer);

  const std::string campaign = data_->posts[0].campaign_id();
  v1::ListCampaignPostsRequest creq;
  creq.set_campaign_id(campaign);
  grpc::ClientContext cctx;
  v1::ListCampaignPostsResponse cresp;
  ASSERT_THAT(stub.ListCampaignPosts(&cctx, creq, &cresp), IsOk());
  ASSERT_GT(cresp.posts_size(), 0);
  for (const auto& p : cresp.posts()) EXPECT_EQ(p.campaign_id(), campaign);

  grpc::ClientContext gctx;
  v1::GetProductRequest greq;
  greq.set_product_id(product);
  v1::Product p;
  ASSERT_THAT(stub.GetProduct(&gctx, greq, &p), IsOk());
  EXPECT_EQ(p.id(), product);
  EXPECT_EQ(p.rating_count(), static_cast<int>(expected));
}

TEST_F(MarketplaceServiceTest, PageSizeIsValidated) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  for (int size : {0, 101, -1, 1000}) {
    grpc::ClientContext ctx;
    v1::ListProductsRequest req;
    req.set_page_size(size);
    v1::ListProductsResponse resp;
    EXPECT_EQ(stub.ListProducts(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << size;
  }
  for (int size : {0, 101}) {
    grpc::ClientContext ctx;
    v1::ListReviewsRequest req;
    req.set_page_size(size);
    v1::ListReviewsResponse resp;
    grpc::Status s = stub.ListReviews(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << size;
    EXPECT_NE(s.error_message().find("page_size"), std::string::npos);
  }
  {
    grpc::ClientContext ctx;
    v1::ListReviewsRequest req;  // unset: 100
    v1::ListReviewsResponse resp;
    ASSERT_THAT(stub.ListReviews(&ctx, req, &resp), IsOk());
    EXPECT_EQ(resp.reviews_size(), 100);
  }
  for (int size : {1, 100}) {
    grpc::ClientContext ctx;
    v1::ListInteractionsRequest req;
    req.set_page_size(size);
    v1::ListInteractionsResponse resp;
    ASSERT_THAT(stub.ListInteractions(&ctx, req, &resp), IsOk());
    EXPECT_EQ(resp.interactions_size(), size);
  }
}

TEST_F(MarketplaceServiceTest, TamperedOrMisusedPageTokensAreRefused) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  v1::ListReviewsRequest req;
  req.set_page_size(10);
  grpc::ClientContext ctx;
  v1::ListReviewsResponse first;
  ASSERT_THAT(stub.ListReviews(&ctx, req, &first), IsOk());
  const std::string token = first.next_page_token();
  ASSERT_FALSE(token.empty());

  auto status_of = [&](v1::ListReviewsRequest r) {
    grpc::ClientContext c;
    v1::ListReviewsResponse resp;
    return stub.ListReviews(&c, r, &resp).error_code();
  };
  // Every single-character change is detected.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    std::string bad = token;
    bad[i] = alphabet[(alphabet.find(bad[i]) + 7) % alphabet.size()];
    v1::ListReviewsRequest r = req;
    r.set_page_token(bad);
    EXPECT_EQ(status_of(r), grpc::StatusCode::INVALID_ARGUMENT) << i;
  }
  // A token made by hand (the cursor in the clear) is refused.
  std::string forged;
  absl::WebSafeBase64Escape(std::string("\x01\x0aR000000050") + std::string(16, 'x'), &forged);
  v1::ListReviewsRequest r = req;
  r.set_page_token(forged);
  EXPECT_EQ(status_of(r), grpc::StatusCode::INVALID_ARGUMENT);
  r.set_page_token("not a token");
  EXPECT_EQ(status_of(r), grpc::StatusCode::INVALID_ARGUMENT);
  // The same token with other filters, or for another list, is refused.
  r = req;
  r.set_page_token(token);
  r.set_product_id(data_->products[0].id());
  EXPECT_EQ(status_of(r), grpc::StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext c;
    v1::ListProductsRequest preq;
    preq.set_page_token(token);
    v1::ListProductsResponse resp;
    EXPECT_EQ(stub.ListProducts(&c, preq, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // The genuine token works, also with another page size.
  r = req;
  r.set_page_token(token);
  r.set_page_size(3);
  EXPECT_EQ(status_of(r), grpc::StatusCode::OK);
}

TEST_F(MarketplaceServiceTest, BadArgumentsAndUnknownIds) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  {
    grpc::ClientContext ctx;
    v1::GetProductRequest req;
    v1::Product resp;
    EXPECT_EQ(stub.GetProduct(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    v1::GetProductRequest req;
    req.set_product_id("B0NOSUCHONE");
    v1::Product resp;
    EXPECT_EQ(stub.GetProduct(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    v1::ListReviewsRequest req;
    req.set_product_id("B0NOSUCHONE");
    v1::ListReviewsResponse resp;
    EXPECT_EQ(stub.ListReviews(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    v1::ListContactsRequest req;
    req.set_customer_id("nobody");
    v1::ListContactsResponse resp;
    EXPECT_EQ(stub.ListContacts(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    v1::ListInteractionsRequest req;
    req.mutable_since()->set_nanos(-5);
    v1::ListInteractionsResponse resp;
    EXPECT_EQ(stub.ListInteractions(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(MarketplaceServiceTest, RateLimitIsPerCallerAndSaysWhenToRetry) {
  retry::FakeClock clock;
  ServiceOptions o = Open();
  o.rate_limit_rps = 5;
  o.rate_limit_burst = 5;
  o.clock = &clock;
  auto registry = std::make_shared<prometheus::Registry>();
  o.registry = registry;
  Server server(world_.get(), o);

  // Eight concurrent callers sharing one caller id, 10 calls each: exactly the burst gets through.
  std::atomic<int> ok{0}, exhausted{0}, with_trailer{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto stub = server.NewStub();
      for (int i = 0; i < 10; ++i) {
        grpc::ClientContext ctx;
        Deadline(&ctx);
        ctx.AddMetadata("x-caller-id", "crawler-1");
        v1::GetProductRequest req;
        req.set_product_id(data_->products[0].id());
        v1::Product resp;
        grpc::Status s = stub->GetProduct(&ctx, req, &resp);
        if (s.ok()) {
          ++ok;
        } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++exhausted;
          auto it = ctx.GetServerTrailingMetadata().find("retry-after-ms");
          int64_t ms = 0;
          if (it != ctx.GetServerTrailingMetadata().end() &&
              absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms) && ms >= 1 &&
              ms <= 200) {
            ++with_trailer;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(exhausted.load(), 75);
  EXPECT_EQ(with_trailer.load(), 75);

  // Another caller has its own bucket; callers without an id share their peer address's bucket.
  auto call = [&](const std::string& caller) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    if (!caller.empty()) ctx.AddMetadata("x-caller-id", caller);
    v1::GetWorldInfoRequest req;
    v1::WorldInfo resp;
    return server.stub().GetWorldInfo(&ctx, req, &resp).error_code();
  };
  EXPECT_EQ(call("crawler-2"), grpc::StatusCode::OK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(""), grpc::StatusCode::OK);
  EXPECT_EQ(call(""), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(call("crawler-1"), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Time refills the bucket at 5/s.
  clock.Advance(absl::Milliseconds(400));
  EXPECT_EQ(call("crawler-1"), grpc::StatusCode::OK);
  EXPECT_EQ(call("crawler-1"), grpc::StatusCode::OK);
  EXPECT_EQ(call("crawler-1"), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The truth oracle is not limited.
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-caller-id", "crawler-1");
    v1::ListTruthRequest req;
    req.set_kind(v1::TRUTH_KIND_PRODUCTS);
    v1::ListTruthResponse resp;
    EXPECT_THAT(server.stub().ListTruth(&ctx, req, &resp), IsOk());
  }
  prometheus::TextSerializer serializer;
  const std::string metrics = serializer.Serialize(registry->Collect());
  EXPECT_NE(metrics.find("marketplace_rate_limited_total 78"), std::string::npos) << metrics;
}

TEST_F(MarketplaceServiceTest, RateLimitHoldsUnderRealTimeConcurrency) {
  ServiceOptions o = Open();
  o.rate_limit_rps = 20;
  o.rate_limit_burst = 4;
  Server server(world_.get(), o);
  std::atomic<int> ok{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto stub = server.NewStub();
      while (!stop.load()) {
        grpc::ClientContext ctx;
        Deadline(&ctx);
        ctx.AddMetadata("x-caller-id", "hammer");
        v1::GetWorldInfoRequest req;
        v1::WorldInfo resp;
        if (stub->GetWorldInfo(&ctx, req, &resp).ok()) ++ok;
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  stop = true;
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double allowed = 4 + 20 * seconds;
  EXPECT_LE(ok.load(), allowed + 2);
  EXPECT_GE(ok.load(), allowed * 0.7);
}

TEST_F(MarketplaceServiceTest, EachFaultModeCanBeForced) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  auto call = [&](const std::string& fault, absl::Duration deadline) {
    grpc::ClientContext ctx;
    Deadline(&ctx, deadline);
    if (!fault.empty()) ctx.AddMetadata("x-marketlens-fault", fault);
    v1::ListProductsRequest req;
    req.set_page_size(5);
    v1::ListProductsResponse resp;
    return stub.ListProducts(&ctx, req, &resp);
  };
  EXPECT_EQ(call("unavailable", absl::Seconds(5)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(call("internal", absl::Seconds(5)).error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(call("bogus", absl::Seconds(5)).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call("none", absl::Seconds(5)).error_code(), grpc::StatusCode::OK);
  const absl::Time start = absl::Now();
  EXPECT_EQ(call("slow", absl::Milliseconds(300)).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Seconds(3));
  // The server is fine afterwards.
  EXPECT_EQ(call("", absl::Seconds(5)).error_code(), grpc::StatusCode::OK);
}

TEST_F(MarketplaceServiceTest, ConfiguredFaultRatesHitEveryRpcButNotTheOracle) {
  ServiceOptions o = Open();
  o.faults.unavailable_rate = 0.3;
  o.faults.internal_rate = 0.2;
  Server server(world_.get(), o);
  std::map<grpc::StatusCode, int> codes;
  for (int i = 0; i < 200; ++i) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListCustomersRequest req;
    req.set_page_size(1);
    v1::ListCustomersResponse resp;
    codes[server.stub().ListCustomers(&ctx, req, &resp).error_code()]++;
  }
  EXPECT_GT(codes[grpc::StatusCode::UNAVAILABLE], 30);
  EXPECT_GT(codes[grpc::StatusCode::INTERNAL], 15);
  EXPECT_GT(codes[grpc::StatusCode::OK], 60);
  for (int i = 0; i < 30; ++i) {
    grpc::ClientContext ctx;
    v1::GetWorldInfoRequest req;
    v1::WorldInfo resp;
    EXPECT_THAT(server.stub().GetWorldInfo(&ctx, req, &resp), IsOk());
  }
}

TEST_F(MarketplaceServiceTest, TruthAndWorldInfo) {
  Server server(world_.get(), Open());
  auto& stub = server.stub();
  grpc::ClientContext ctx;
  v1::WorldInfo info;
  ASSERT_THAT(stub.GetWorldInfo(&ctx, v1::GetWorldInfoRequest(), &info), IsOk());
  EXPECT_EQ(info.source(), "generator");
  EXPECT_EQ(info.seed(), 99u);
  EXPECT_EQ(info.products(), static_cast<int64_t>(data_->products.size()));
  EXPECT_GE(info.categories_size(), 10);

  v1::ListTruthRequest req;
  req.set_kind(v1::TRUTH_KIND_REVIEWS);
  auto truth = Walk<v1::ListTruthRequest, v1::ListTruthResponse>(
      req, [&](auto* c, auto& r, auto* o) { return stub.ListTruth(c, r, o); },
      [](const v1::ListTruthResponse& r) {
        std::vector<v1::Review> ids;  // reuse Walk: wrap review ids
        for (const auto& t : r.reviews()) {
          v1::Review x;
          x.set_id(t.review_id());
          ids.push_back(x);
        }
        return ids;
      });
  EXPECT_EQ(truth.size(), data_->reviews.size());
  for (auto kind : {v1::TRUTH_KIND_PRODUCTS, v1::TRUTH_KIND_CUSTOMERS, v1::TRUTH_KIND_INFLUENCERS,
                    v1::TRUTH_KIND_CAPTIONS}) {
    grpc::ClientContext c;
    v1::ListTruthRequest r;
    r.set_kind(kind);
    v1::ListTruthResponse resp;
    ASSERT_THAT(stub.ListTruth(&c, r, &resp), IsOk());
    EXPECT_GT(resp.products_size() + resp.customers_size() + resp.influencers_size() + resp.captions_size(),
              0);
  }
  grpc::ClientContext c;
  v1::ListTruthResponse resp;
  EXPECT_EQ(stub.ListTruth(&c, v1::ListTruthRequest(), &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(CallerKeyTest, UsesTheIdElseThePeerWithoutPort) {
  EXPECT_EQ(CallerKey("crawler", "ipv4:1.2.3.4:555"), "id:crawler");
  EXPECT_EQ(CallerKey("  ", "ipv4:1.2.3.4:555"), "peer:ipv4:1.2.3.4");
  EXPECT_EQ(CallerKey("", "ipv6:[::1]:555"), "peer:ipv6:[::1]");
  EXPECT_EQ(CallerKey("", "unix:/tmp/s"), "peer:unix:/tmp/s");
  EXPECT_EQ(CallerKey(std::string(500, 'x'), "").size(), 3 + 128u);
}

TEST(ResolvePageSizeTest, Bounds) {
  EXPECT_EQ(*ResolvePageSize(false, 0), 100);
  EXPECT_EQ(*ResolvePageSize(true, 1), 1);
  EXPECT_EQ(*ResolvePageSize(true, 100), 100);
  EXPECT_FALSE(ResolvePageSize(true, 0).ok());
  EXPECT_FALSE(ResolvePageSize(true, 101).ok());
}

}  // namespace
}  // namespace marketlens::marketplace
