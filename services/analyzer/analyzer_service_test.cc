// The gRPC surface against a real PostgreSQL filled by the real pipeline: validation errors naming the field,
// filters, sorts and keyset paging of the product list, one product's insights, reviews with their analysis,
// alerts, and the marketing reads.
#include "services/analyzer/analyzer_service.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/testing/free_port.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/analyzer/pipeline.h"
#include "services/analyzer/raw_data_fixture.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;

using ::marketlens::testing::IsOk;
using testing::AddProduct;
using testing::AddReviews;

class AnalyzerServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = marketlens::testing::PostgresServer::StartOrDie().release();
    pool_ = CreateMigratedDatabaseOrFail(*pg_).pool.release();
    auto engine = Engine::Create();
    ASSERT_THAT(engine, IsOk());
    engine_ = engine->release();
    // 12 products in two categories; p-03 slips in the last two weeks.
    const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
    for (int i = 0; i < 12; ++i) {
      const std::string id = absl::StrFormat("p-%02d", i);
      ASSERT_TRUE(AddProduct(*pool_, id, absl::StrCat(i % 2 ? "Voltix" : "Sonara", " Gadget ", i),
                             i % 2 ? "Voltix" : "Sonara", i < 6 ? "Electronics" : "Home & Kitchen", 1000 + i)
                      .ok());
      ASSERT_TRUE(AddReviews(*pool_, absl::StrCat("r", i, "-good"), id, 10 + 3 * i, i != 7,
                             now - absl::Hours(24 * 200), now - absl::Hours(24 * 30), i)
                      .ok());
    }
    ASSERT_THAT(AddReviews(*pool_, "slip", "p-03", 25, false, now - absl::Hours(24 * 14), now, 1), IsOk());
    // A catalogue product nobody has reviewed yet: listed all the same.
    ASSERT_THAT(AddProduct(*pool_, "p-new", "Zzz Unreviewed Lamp", "Lumo", "Home & Kitchen"), IsOk());
    ASSERT_TRUE(pool_
                    ->Exec("INSERT INTO raw.campaign_posts (id, campaign_id, influencer, platform, views, "
                           "likes, comments,"
                           " shares, posted_at) VALUES"
                           " ('c1', 'camp', 'ann', 'tiktok', 1000, 100, 10, 10, now()),"
                           " ('c2', 'camp', 'ann', 'tiktok', 1000, 50, 0, 0, now()),"
                           " ('c3', 'camp', 'bob', 'instagram', 500, 10, 0, 0, now()),"
                           " ('c4', 'camp', 'cid', 'youtube', 200, 60, 20, 20, now()),"
                           " ('c5', 'other', 'dan', 'x', 10, 10, 0, 0, now())")
                    .ok());
    ASSERT_TRUE(
        pool_->Exec("INSERT INTO raw.customers (id, segment) VALUES ('u1', 'loyal'), ('u2', 'new')").ok());
    ASSERT_TRUE(
        pool_
            ->Exec("INSERT INTO raw.interactions (id, customer_id, product_id, type, occurred_at) VALUES"
                   " ('i1', 'u1', 'p-01', 'view', now()), ('i2', 'u1', 'p-01', 'purchase', now()),"
                   " ('i3', 'u1', 'p-02', 'view', now()), ('i4', 'u2', 'p-02', 'view', now())")
            .ok());
    InsightsStore store(pool_);
    Pipeline pipeline(&store, engine_, nullptr, {},
                      new AnalyzerMetrics(std::make_shared<prometheus::Registry>()));
    ASSERT_THAT(pipeline.Init(), IsOk());
    auto r = pipeline.CatchUp();
    ASSERT_THAT(r, IsOk());

    service_ = new AnalyzerServiceImpl(pool_, engine_);
    const int port = *marketlens::testing::PickFreePort();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
    builder.RegisterService(service_);
    server_ = builder.BuildAndStart().release();
    stub_ = v1::AnalyzerService::NewStub(
                grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()))
                .release();
  }
  static void TearDownTestSuite() {
    server_->Shutdown();
    delete stub_;
    delete server_;
    delete service_;
    delete pool_;
    delete pg_;
  }

  static marketlens::testing::PostgresServer* pg_;
  static postgres::PgPool* pool_;
  static Engine* engine_;
  static AnalyzerServiceImpl* service_;
  static grpc::Server* server_;
  static v1::AnalyzerService::Stub* stub_;
};
marketlens::testing::PostgresServer* AnalyzerServiceTest::pg_ = nullptr;
postgres::PgPool* AnalyzerServiceTest::pool_ = nullptr;
Engine* AnalyzerServiceTest::engine_ = nullptr;
AnalyzerServiceImpl* AnalyzerServiceTest::service_ = nullptr;
grpc::Server* AnalyzerServiceTest::server_ = nullptr;
v1::AnalyzerService::Stub* AnalyzerServiceTest::stub_ = nullptr;

std::string ErrorField(const grpc::ClientContext& ctx) {
  auto it = ctx.GetServerTrailingMetadata().find("x-error-field");
  return it == ctx.GetServerTrailingMetadata().end() ? "" : std::string(it->second.data(), it->second.size());
}

TEST_F(AnalyzerServiceTest, AnalyzeText) {
  grpc::ClientContext ctx;
  v1::AnalyzeTextRequest req;
  req.set_text("The battery is great but the strap snapped after a week.");
  req.set_category("Electronics");
  v1::TextAnalysis resp;
  ASSERT_THAT(stub_->AnalyzeText(&ctx, req, &resp), IsOk());
  EXPECT_EQ(resp.backend(), "local");
  EXPECT_EQ(resp.model_version(), engine_->version());
  ASSERT_GE(resp.issues_size(), 1);
  EXPECT_EQ(resp.issues(0).category(), "durability");
  EXPECT_EQ(resp.aspects(0).aspect(), "battery");
  EXPECT_GT(resp.aspects(0).polarity(), 0);

  grpc::ClientContext empty_ctx;
  v1::AnalyzeTextRequest empty;
  grpc::Status s = stub_->AnalyzeText(&empty_ctx, empty, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorField(empty_ctx), "text");

  grpc::ClientContext huge_ctx;
  v1::AnalyzeTextRequest huge;
  huge.set_text(std::string((1 << 20) + 1, 'a'));
  s = stub_->AnalyzeText(&huge_ctx, huge, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("at most"), std::string::npos);

  grpc::ClientContext openai_ctx;
  v1::AnalyzeTextRequest openai;
  openai.set_text("fine");
  openai.set_backend("openai");
  EXPECT_EQ(stub_->AnalyzeText(&openai_ctx, openai, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AnalyzerServiceTest, ListProductInsightsFiltersSortsAndPages) {
  std::vector<std::string> ids;
  std::string token;
  std::vector<int> counts;
  do {
    grpc::ClientContext ctx;
    v1::ListProductInsightsRequest req;
    req.set_page_size(5);
    req.set_sort("-reviews");
    req.set_page_token(token);
    v1::ListProductInsightsResponse resp;
    {
      grpc::Status st = stub_->ListProductInsights(&ctx, req, &resp);
      ASSERT_THAT(st, IsOk());
    }
    EXPECT_EQ(resp.total_size(), 13);  // 12 reviewed + p-new
    for (const auto& p : resp.products()) {
      ids.push_back(p.product_id());
      counts.push_back(p.review_count());
      EXPECT_EQ(p.no_reviews_yet(), p.product_id() == "p-new") << p.product_id();
      if (p.product_id() == "p-new") EXPECT_EQ(p.title(), "Zzz Unreviewed Lamp");
    }
    token = resp.next_page_token();
  } while (!token.empty());
  ASSERT_EQ(ids.size(), 13u);
  EXPECT_EQ(ids.back(), "p-new");                                        // 0 reviews: last by reviews
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 13u);  // no duplicates across pages
  EXPECT_TRUE(std::is_sorted(counts.rbegin(), counts.rend()));
  EXPECT_EQ(ids[0], "p-03");  // 19 + 25 reviews

  grpc::ClientContext ctx;
  v1::ListProductInsightsRequest req;
  req.set_category("Home & Kitchen");
  req.set_q("voltix");
  req.set_sort("title");
  v1::ListProductInsightsResponse resp;
  ASSERT_THAT(stub_->ListProductInsights(&ctx, req, &resp), IsOk());
  ASSERT_EQ(resp.total_size(), 3);                          // p-07, p-09, p-11
  EXPECT_EQ(resp.products(0).title(), "Voltix Gadget 11");  // "11" < "7" < "9" as text

  grpc::ClientContext neg_ctx;
  v1::ListProductInsightsRequest neg;
  neg.set_sentiment("negative");
  ASSERT_THAT(stub_->ListProductInsights(&neg_ctx, neg, &resp), IsOk());
  ASSERT_EQ(resp.products_size(), 1);
  EXPECT_EQ(resp.products(0).product_id(), "p-07");

  for (auto [field, mutate] :
       std::vector<std::pair<std::string, std::function<void(v1::ListProductInsightsRequest*)>>>{
           {"page_size", [](auto* r) { r->set_page_size(101); }},
           {"sort", [](auto* r) { r->set_sort("price"); }},
           {"sentiment", [](auto* r) { r->set_sentiment("meh"); }},
           {"min_rating", [](auto* r) { r->set_min_rating(6); }},
           {"page_token", [](auto* r) { r->set_page_token("!!"); }}}) {
    grpc::ClientContext bad_ctx;
    v1::ListProductInsightsRequest bad;
    mutate(&bad);
    EXPECT_EQ(stub_->ListProductInsights(&bad_ctx, bad, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << field;
    EXPECT_EQ(ErrorField(bad_ctx), field);
  }
}

TEST_F(AnalyzerServiceTest, GetProductInsights) {
  grpc::ClientContext ctx;
  v1::GetProductInsightsRequest req;
  req.set_product_id("p-03");
  v1::ProductInsights p;
  ASSERT_THAT(stub_->GetProductInsights(&ctx, req, &p), IsOk());
  EXPECT_EQ(p.title(), "Voltix Gadget 3");
  EXPECT_EQ(p.review_count(), 44);
  int weekly_reviews = 0;
  for (const auto& w : p.weekly()) weekly_reviews += w.reviews();
  EXPECT_EQ(weekly_reviews, 44);
  // Weeks start on Monday, 00:00 UTC.
  const absl::Time week = absl::FromUnixSeconds(p.weekly(0).week_start().seconds());
  EXPECT_EQ(absl::GetWeekday(absl::ToCivilDay(week, absl::UTCTimeZone())), absl::Weekday::monday);
  EXPECT_EQ(p.weekly(0).week_start().seconds() % 86400, 0);
  ASSERT_GT(p.issues_size(), 0);
  EXPECT_GT(p.issues(0).quotes_size(), 0);
  EXPECT_GT(p.issue_history_size(), 0);
  EXPECT_GT(p.features_size(), 0);
  EXPECT_GE(p.open_alerts(), 1);
  ASSERT_GE(p.alerts_size(), 1);
  EXPECT_LT(p.alerts(0).p_value(), 0.01);
  EXPECT_LT(p.sentiment_trend(), 0);

  grpc::ClientContext missing_ctx;
  req.set_product_id("nope");
  EXPECT_EQ(stub_->GetProductInsights(&missing_ctx, req, &p).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AnalyzerServiceTest, ListProductReviewsPagesNewestFirstWithAnalysis) {
  std::vector<std::string> ids;
  std::string token;
  int64_t last = INT64_MAX;
  do {
    grpc::ClientContext ctx;
    v1::ListProductReviewsRequest req;
    req.set_product_id("p-03");
    req.set_page_size(7);
    req.set_page_token(token);
    v1::ListProductReviewsResponse resp;
    ASSERT_THAT(stub_->ListProductReviews(&ctx, req, &resp), IsOk());
    for (const auto& r : resp.reviews()) {
      ids.push_back(r.review_id());
      EXPECT_LE(r.created_at().seconds(), last);
      last = r.created_at().seconds();
      EXPECT_FALSE(r.analysis().label().empty());
    }
    token = resp.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(ids.size(), 44u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 44u);
}

TEST_F(AnalyzerServiceTest, ListAlerts) {
  grpc::ClientContext ctx;
  v1::ListAlertsRequest req;
  req.set_open_only(true);
  v1::ListAlertsResponse resp;
  ASSERT_THAT(stub_->ListAlerts(&ctx, req, &resp), IsOk());
  std::set<std::string> products;
  for (const auto& a : resp.alerts()) products.insert(a.product_id());
  EXPECT_TRUE(products.contains("p-03"));
  grpc::ClientContext page_ctx;
  req.set_page_size(1);
  ASSERT_THAT(stub_->ListAlerts(&page_ctx, req, &resp), IsOk());
  EXPECT_EQ(resp.alerts_size(), 1);
  if (products.size() + 0 > 1 || resp.next_page_token().size()) {
    grpc::ClientContext next_ctx;
    req.set_page_token(resp.next_page_token());
    v1::ListAlertsResponse next;
    ASSERT_THAT(stub_->ListAlerts(&next_ctx, req, &next), IsOk());
    if (next.alerts_size() > 0) {
      EXPECT_NE(next.alerts(0).id(), resp.alerts(0).id());
    }
  }
  grpc::ClientContext bad_ctx;
  v1::ListAlertsRequest bad;
  bad.set_kind("boom");
  EXPECT_EQ(stub_->ListAlerts(&bad_ctx, bad, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, std::string>>{{"state", "sleeping"}, {"since", "last tuesday"}}) {
    grpc::ClientContext c;
    v1::ListAlertsRequest r;
    if (field == "state") r.set_state(value);
    if (field == "since") r.set_since(value);
    EXPECT_EQ(stub_->ListAlerts(&c, r, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
  }
}

// Alerts carry their product's title, the change date and evidence; filters by category, state and since;
// the lifecycle open -> acknowledged -> resolved through the RPCs.
TEST_F(AnalyzerServiceTest, AlertFiltersAndLifecycle) {
  auto list = [&](const std::string& category, const std::string& state, const std::string& since) {
    grpc::ClientContext ctx;
    v1::ListAlertsRequest req;
    req.set_product_id("p-03");
    req.set_category(category);
    req.set_state(state);
    req.set_since(since);
    v1::ListAlertsResponse resp;
    EXPECT_THAT(stub_->ListAlerts(&ctx, req, &resp), IsOk());
    return resp;
  };
  const v1::ListAlertsResponse all = list("", "open", "");
  ASSERT_GE(all.alerts_size(), 2);  // rating and sentiment at least
  int ranged = 0;
  for (const auto& a : all.alerts()) {
    EXPECT_EQ(a.product_title(), "Voltix Gadget 3");
    EXPECT_EQ(a.category(), "Electronics");
    EXPECT_EQ(a.state(), "open");
    EXPECT_GT(a.since().seconds(), 0);
    // The interval the reviews allow: after the last review before the change, by `since`.
    EXPECT_TRUE(a.has_changed_after()) << a.message();
    EXPECT_LT(a.changed_after().seconds(), a.since().seconds()) << a.message();
    // The open rating alert's date range, stored and read back: it holds `since`; no other metric has one.
    if (a.metric() == "average_rating") {
      ++ranged;
      ASSERT_TRUE(a.has_since_earliest() && a.has_since_latest()) << a.message();
      EXPECT_LE(a.since_earliest().seconds(), a.since().seconds()) << a.message();
      EXPECT_GE(a.since_latest().seconds(), a.since().seconds()) << a.message();
    } else {
      EXPECT_FALSE(a.has_since_earliest() || a.has_since_latest()) << a.metric();
    }
    EXPECT_FALSE(a.evidence_review_ids().empty());
    for (const auto& id : a.evidence_review_ids()) EXPECT_EQ(id.rfind("slip-", 0), 0u) << id;  // p-03's own
    EXPECT_GT(a.recent_reviews(), 0);
  }
  EXPECT_EQ(ranged, 1);
  EXPECT_EQ(list("Electronics", "", "").alerts_size(), all.alerts_size());
  EXPECT_EQ(list("Home & Kitchen", "", "").alerts_size(), 0);
  EXPECT_EQ(list("", "", "2099-01-01").alerts_size(), 0);
  EXPECT_EQ(list("", "", "2020-01-01").alerts_size(), all.alerts_size());

  const std::string first = all.alerts(0).id(), second = all.alerts(1).id();
  v1::AlertActionRequest req;
  v1::Alert out;
  {
    grpc::ClientContext ctx;
    req.set_id(first);
    ASSERT_THAT(stub_->AcknowledgeAlert(&ctx, req, &out), IsOk());
    EXPECT_EQ(out.state(), "acknowledged");
    EXPECT_GT(out.acknowledged_at().seconds(), 0);
  }
  EXPECT_EQ(list("", "acknowledged", "").alerts_size(), 1);
  {
    grpc::ClientContext ctx;
    req.set_id(second);
    ASSERT_THAT(stub_->ResolveAlert(&ctx, req, &out), IsOk());
    EXPECT_EQ(out.state(), "resolved");
    EXPECT_GT(out.resolved_at().seconds(), 0);
  }
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->ResolveAlert(&ctx, req, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  // Re-analysis neither duplicates nor re-raises: one unresolved alert per kind and metric, the resolved
  // one stays resolved, the acknowledged one stays acknowledged.
  InsightsStore store(pool_);
  ASSERT_THAT(store.RecomputeProduct("p-03", *store.DataNow()), IsOk());
  ASSERT_THAT(store.ReconcileAlerts(), IsOk());
  EXPECT_EQ(list("", "", "").alerts_size(), all.alerts_size());
  EXPECT_EQ(list("", "acknowledged", "").alerts_size(), 1);
  EXPECT_EQ(list("", "resolved", "").alerts_size(), 1);
  {
    grpc::ClientContext ctx;
    req.set_id("00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(stub_->AcknowledgeAlert(&ctx, req, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    req.set_id("not-a-uuid");
    EXPECT_EQ(stub_->AcknowledgeAlert(&ctx, req, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(AnalyzerServiceTest, TopPerformersAndInteractionsByProduct) {
  grpc::ClientContext ctx;
  v1::TopPerformersRequest req;
  req.set_campaign_id("camp");
  v1::TopPerformersResponse resp;
  ASSERT_THAT(stub_->TopPerformers(&ctx, req, &resp), IsOk());
  ASSERT_EQ(resp.performers_size(), 3);
  EXPECT_EQ(resp.performers(0).influencer(), "cid");  // 100 / 200
  EXPECT_NEAR(resp.performers(0).engagement_rate(), 0.5, 1e-9);
  EXPECT_EQ(resp.performers(1).influencer(), "ann");  // 170 / 2000
  EXPECT_EQ(resp.performers(1).posts(), 2);
  EXPECT_EQ(resp.performers(1).views(), 2000);
  EXPECT_EQ(resp.performers(2).influencer(), "bob");
  grpc::ClientContext missing_ctx;
  req.set_campaign_id("none");
  EXPECT_EQ(stub_->TopPerformers(&missing_ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext ictx;
  v1::InteractionsByProductRequest ireq;
  ireq.set_customer_type("loyal");
  v1::InteractionsByProductResponse iresp;
  ASSERT_THAT(stub_->InteractionsByProduct(&ictx, ireq, &iresp), IsOk());
  ASSERT_EQ(iresp.products_size(), 2);
  EXPECT_EQ(iresp.products(0).product_id(), "p-01");
  EXPECT_EQ(iresp.products(0).interactions(), 2);
  EXPECT_EQ(iresp.products(0).customer_type(), "loyal");
}

// Interactions per product per customer type count customer-service contacts too: about their product, or
// else about the products of discussion of their month (brief 002's workbook).
TEST_F(AnalyzerServiceTest, InteractionsByProductCountsContactsAndProductsOfDiscussion) {
  for (const char* sql : {
           "INSERT INTO raw.customers (id, occupation, segment) VALUES ('b2-1', 'Jedi', 'Smuggler'), "
           "('b2-2', 'Pilot', 'smuggler')",
           "INSERT INTO raw.contacts (id, customer_id, started_at, channel, product_id) VALUES ('b2-k1', "
           "'b2-1', '2019-10-13T10:00:00Z', 'call', ''), ('b2-k2', 'b2-2', '2019-10-20T10:00:00Z', 'email', "
           "''), ('b2-k3', 'b2-2', '2019-11-02T10:00:00Z', 'chat', 'p-02')",
           "INSERT INTO raw.interactions (id, customer_id, product_id, type, occurred_at) VALUES ('b2-i1', "
           "'b2-1', 'p-02', 'view', '2019-11-01T10:00:00Z')",
           "INSERT INTO raw.discussed_products (id, month, product) VALUES ('b2-d1', '2019-10-01', "
           "'Lightsaber'), ('b2-d2', '2019-12-01', 'Hyperdrive')",
       }) {
    ASSERT_THAT(pool_->Exec(sql), IsOk()) << sql;
  }
  grpc::ClientContext ctx;
  v1::InteractionsByProductRequest req;
  req.set_customer_type("SMUGGLER");
  v1::InteractionsByProductResponse resp;
  ASSERT_THAT(stub_->InteractionsByProduct(&ctx, req, &resp), IsOk());
  std::vector<std::string> got;
  for (const auto& p : resp.products()) {
    got.push_back(absl::StrCat(p.customer_type(), " ", p.product_id(), " ", p.interactions()));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"smuggler Lightsaber 2", "smuggler p-02 2"}));
}

// Quality flags are stored with the sentence that triggered each, and served with the review. (Last: it adds
// a review of a product of its own.)
TEST_F(AnalyzerServiceTest, StoredReviewsCarryQualityFlagSentences) {
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  ASSERT_TRUE(testing::AddReview(*pool_, "q-1", "p-quality", 5, "Five stars",
                                 "Arrived quickly. It is horrible, useless and the worst kettle ever. "
                                 "More at www.example.com/kettle today.",
                                 now)
                  .ok());
  InsightsStore store(pool_);
  Pipeline pipeline(&store, engine_, nullptr, {},
                    new AnalyzerMetrics(std::make_shared<prometheus::Registry>()));
  ASSERT_THAT(pipeline.ProcessReviews({"q-1"}, "request"), IsOk());
  grpc::ClientContext ctx;
  v1::ListProductReviewsRequest req;
  req.set_product_id("p-quality");
  req.set_page_size(1);
  v1::ListProductReviewsResponse resp;
  ASSERT_THAT(stub_->ListProductReviews(&ctx, req, &resp), IsOk());
  ASSERT_EQ(resp.reviews_size(), 1);
  ASSERT_EQ(resp.reviews(0).review_id(), "q-1");
  const v1::TextAnalysis& a = resp.reviews(0).analysis();
  ASSERT_EQ(a.quality_size(), 2) << a.DebugString();
  EXPECT_EQ(a.quality(0).flag(), "contains_url");
  EXPECT_EQ(a.quality(0).sentence(), "More at www.example.com/kettle today.");
  EXPECT_EQ(a.quality(1).flag(), "rating_mismatch");
  EXPECT_EQ(a.quality(1).sentence(), "It is horrible, useless and the worst kettle ever.");
  EXPECT_EQ(std::vector<std::string>(a.quality_flags().begin(), a.quality_flags().end()),
            (std::vector<std::string>{"contains_url", "rating_mismatch"}));
  EXPECT_EQ(testing::Scalar(*pool_,
                            "SELECT quality->1->>'sentence' FROM insights.review_analysis"
                            " WHERE review_id = 'q-1'"),
            "It is horrible, useless and the worst kettle ever.");
}

// A change that had reverted before it was first analysed is history on the product's page: one resolved
// alert per metric (resolved at the recovery, the change's dates and evidence), never an open one, and
// re-analysis does not duplicate it.
TEST_F(AnalyzerServiceTest, ARevertedChangeIsListedAsHistory) {
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  const auto days = [](int d) { return absl::Hours(24 * d); };
  ASSERT_THAT(AddProduct(*pool_, "p-rev", "Reel Hose 30m", "Gardena", "Garden"), IsOk());
  ASSERT_THAT(AddReviews(*pool_, "rev-a", "p-rev", 30, true, now - days(300), now - days(200), 2), IsOk());
  ASSERT_THAT(AddReviews(*pool_, "rev-b", "p-rev", 20, false, now - days(199), now - days(150), 2), IsOk());
  ASSERT_THAT(AddReviews(*pool_, "rev-c", "p-rev", 30, true, now - days(149), now - days(2), 3), IsOk());
  InsightsStore store(pool_);
  Pipeline pipeline(&store, engine_, nullptr, {},
                    new AnalyzerMetrics(std::make_shared<prometheus::Registry>()));
  ASSERT_THAT(pipeline.CatchUp(), IsOk());
  auto list = [&](const std::string& state) {
    grpc::ClientContext ctx;
    v1::ListAlertsRequest req;
    req.set_product_id("p-rev");
    req.set_state(state);
    v1::ListAlertsResponse resp;
    EXPECT_THAT(stub_->ListAlerts(&ctx, req, &resp), IsOk());
    return resp;
  };
  const v1::ListAlertsResponse history = list("resolved");
  std::set<std::string> kinds;
  for (const auto& a : history.alerts()) {
    kinds.insert(a.kind());
    EXPECT_EQ(a.product_title(), "Reel Hose 30m");
    EXPECT_NE(a.message().find("recovered"), std::string::npos) << a.message();
    // Dated at the slip (day -199) and resolved at the recovery (day -149), within a few reviews.
    EXPECT_LE(std::fabs(absl::ToDoubleHours(absl::FromUnixSeconds(a.since().seconds()) - (now - days(199)))),
              24 * 15)
        << a.message();
    // Changed after the last review before the slip (day -200), by the first that shows it.
    ASSERT_TRUE(a.has_changed_after()) << a.message();
    EXPECT_FALSE(a.has_since_earliest()) << a.message();  // a range only for open changes
    EXPECT_LT(a.changed_after().seconds(), a.since().seconds()) << a.message();
    EXPECT_LE(std::fabs(absl::ToDoubleHours(absl::FromUnixSeconds(a.changed_after().seconds()) -
                                            (now - days(200)))),
              24 * 15)
        << a.message();
    EXPECT_LE(
        std::fabs(absl::ToDoubleHours(absl::FromUnixSeconds(a.resolved_at().seconds()) - (now - days(149)))),
        24 * 30)
        << a.message();
    ASSERT_FALSE(a.evidence_review_ids().empty());
    for (const auto& id : a.evidence_review_ids()) EXPECT_EQ(id.rfind("rev-b-", 0), 0u) << id;
  }
  EXPECT_TRUE(kinds.contains("rating_drop")) << history.DebugString();
  for (const auto& a : list("open").alerts()) {
    EXPECT_NE(a.kind(), "rating_drop") << a.message();
    EXPECT_NE(a.kind(), "sentiment_drop") << a.message();
  }
  ASSERT_THAT(store.RecomputeProduct("p-rev", *store.DataNow()), IsOk());
  ASSERT_THAT(store.ReconcileAlerts(), IsOk());
  EXPECT_EQ(list("resolved").alerts_size(), history.alerts_size());
}

}  // namespace
}  // namespace marketlens::analyzer
