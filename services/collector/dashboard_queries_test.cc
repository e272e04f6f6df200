// The dashboard's read views against a real PostgreSQL with the real
// migrations: rows seeded in raw.*, read back in order, paged with tokens that
// cannot be reused elsewhere, with the errors naming fields.
#include "services/collector/dashboard_queries.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/postgres/pool.h"
#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::collector {
namespace {

using ::marketlens::testing::IsOk;

class DashboardQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = ::marketlens::testing::CreateMigratedDatabaseOrFail(
        ::marketlens::testing::SharedPostgresServer(), {.pool_size = 2});
    ASSERT_NE(db.pool, nullptr);
    pool_ = std::move(db.pool);
    queries_ = std::make_unique<DashboardQueries>(pool_.get());
  }

  void Exec(const std::string& sql) {
    auto r = pool_->Exec(sql);
    ASSERT_THAT(r, IsOk()) << r.status() << "\n" << sql;
  }

  // Product p1 with 5 snapshots one day apart (2024-01-01 .. 2024-01-05), price
  // rising by 1.00 a day.
  void SeedProducts() {
    Exec(
        "INSERT INTO raw.products (id, title, category, price_cents, currency, "
        "updated_at) VALUES"
        " ('p1', 'Kettle', 'kitchen', 1500, 'EUR', '2024-01-05Z'),"
        " ('p2', 'Toaster', 'kitchen', 2500, 'USD', '2024-01-05Z')");
    for (int d = 1; d <= 5; ++d) {
      Exec(absl::StrCat(
          "INSERT INTO raw.product_snapshots (product_id, "
          "seen_at, price_cents, stock, rating_average,"
          " rating_count) VALUES ('p1', '2024-01-0",
          d, "T12:00:00.123456Z', ", 1000 + 100 * d, ", ", 10 - d, ", 4.", d, ", ", 20 * d, ")"));
    }
  }

  std::unique_ptr<postgres::PgPool> pool_;
  std::unique_ptr<DashboardQueries> queries_;
};

TEST_F(DashboardQueriesTest, PriceHistoryNewestFirstWithEveryField) {
  SeedProducts();
  v1::ListPriceHistoryRequest req;
  req.set_product_id("p1");
  auto r = queries_->ListPriceHistory(req, absl::Seconds(5));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->product_id(), "p1");
  EXPECT_EQ(r->currency(), "EUR");
  ASSERT_EQ(r->points_size(), 5);
  EXPECT_TRUE(r->next_page_token().empty());
  const v1::PricePoint& newest = r->points(0);
  EXPECT_EQ(newest.price_cents(), 1500);
  EXPECT_DOUBLE_EQ(newest.price(), 15.0);
  EXPECT_EQ(newest.stock(), 5);
  EXPECT_DOUBLE_EQ(newest.rating_average(), 4.5);
  EXPECT_EQ(newest.rating_count(), 100);
  // 2024-01-05T12:00:00.123456Z, to the microsecond.
  EXPECT_EQ(newest.seen_at().seconds(), 1704456000);
  EXPECT_EQ(newest.seen_at().nanos(), 123456000);
  for (int i = 1; i < r->points_size(); ++i) {
    EXPECT_LT(r->points(i).seen_at().seconds(), r->points(i - 1).seen_at().seconds());
  }
}

TEST_F(DashboardQueriesTest, PriceHistoryPagesAndTimeRange) {
  SeedProducts();
  v1::ListPriceHistoryRequest req;
  req.set_product_id("p1");
  req.set_page_size(2);
  std::vector<int64_t> prices;
  int pages = 0;
  do {
    auto r = queries_->ListPriceHistory(req, absl::Seconds(5));
    ASSERT_THAT(r, IsOk());
    for (const auto& p : r->points()) prices.push_back(p.price_cents());
    req.set_page_token(r->next_page_token());
    ++pages;
  } while (!req.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(prices, (std::vector<int64_t>{1500, 1400, 1300, 1200, 1100}));

  // [Jan 2, Jan 4 12:00:00.123456): Jan 2 and Jan 3 (the bound is exclusive, to
  // the microsecond).
  v1::ListPriceHistoryRequest range;
  range.set_product_id("p1");
  range.mutable_since()->set_seconds(1704153600);  // 2024-01-02T00:00:00Z
  range.mutable_until()->set_seconds(1704369600);  // 2024-01-04T12:00:00Z
  range.mutable_until()->set_nanos(123456000);
  auto r = queries_->ListPriceHistory(range, absl::Seconds(5));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->points_size(), 2);
  EXPECT_EQ(r->points(0).price_cents(), 1300);
  EXPECT_EQ(r->points(1).price_cents(), 1200);

  // A product without snapshots: an empty history, not an error.
  v1::ListPriceHistoryRequest p2;
  p2.set_product_id("p2");
  auto empty = queries_->ListPriceHistory(p2, absl::Seconds(5));
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->points_size(), 0);
  EXPECT_EQ(empty->currency(), "USD");
}

TEST_F(DashboardQueriesTest, PriceHistoryErrorsNameTheField) {
  SeedProducts();
  v1::ListPriceHistoryRequest req;
  req.set_product_id("nope");
  auto r = queries_->ListPriceHistory(req, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message().substr(0, 11), "product_id ");

  req.set_product_id("");
  EXPECT_EQ(queries_->ListPriceHistory(req, absl::Seconds(5)).status().code(),
            absl::StatusCode::kInvalidArgument);

  req.set_product_id("p1");
  req.set_page_size(1001);
  r = queries_->ListPriceHistory(req, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().substr(0, 10), "page_size ");
  req.set_page_size(-1);
  EXPECT_EQ(queries_->ListPriceHistory(req, absl::Seconds(5)).status().code(),
            absl::StatusCode::kInvalidArgument);

  req.set_page_size(1);
  req.set_page_token("!!garbage!!");
  r = queries_->ListPriceHistory(req, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().substr(0, 11), "page_token ");

  // A token of p1 used for p2.
  req.clear_page_token();
  auto first = queries_->ListPriceHistory(req, absl::Seconds(5));
  ASSERT_THAT(first, IsOk());
  ASSERT_FALSE(first->next_page_token().empty());
  req.set_product_id("p2");
  req.set_page_token(first->next_page_token());
  EXPECT_EQ(queries_->ListPriceHistory(req, absl::Seconds(5)).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::ListPriceHistoryRequest range;
  range.set_product_id("p1");
  range.mutable_since()->set_seconds(1704369600);
  range.mutable_until()->set_seconds(1704153600);
  r = queries_->ListPriceHistory(range, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().substr(0, 6), "until ");
}

TEST_F(DashboardQueriesTest, ShoppersBySegmentWithInteractionCountsAndPages) {
  Exec(
      "INSERT INTO raw.customers (id, name, segment, region, occupation, "
      "created_at) VALUES"
      " ('c1', 'Ann', 'loyal', 'north', 'nurse', '2023-05-01Z'),"
      " ('c2', 'Bob', 'new', 'south', '', NULL),"
      " ('c3', 'Cid', 'loyal', 'east', 'chef', '2023-06-01Z'),"
      " ('c4', 'Dee', 'loyal', 'west', '', '2023-07-01Z')");
  Exec(
      "INSERT INTO raw.interactions (id, customer_id, product_id, type, "
      "occurred_at) VALUES"
      " ('i1', 'c1', 'p1', 'view', now()), ('i2', 'c1', 'p2', 'purchase', "
      "now()),"
      " ('i3', 'c3', 'p1', 'view', now())");

  v1::ListShoppersRequest all;
  auto r = queries_->ListShoppers(all, absl::Seconds(5));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->shoppers_size(), 4);
  EXPECT_EQ(r->shoppers(0).id(), "c1");
  EXPECT_EQ(r->shoppers(0).name(), "Ann");
  EXPECT_EQ(r->shoppers(0).segment(), "loyal");
  EXPECT_EQ(r->shoppers(0).region(), "north");
  EXPECT_EQ(r->shoppers(0).occupation(), "nurse");
  EXPECT_EQ(r->shoppers(0).interactions(), 2);
  EXPECT_EQ(r->shoppers(0).created_at().seconds(), 1682899200);
  EXPECT_FALSE(r->shoppers(1).has_created_at());
  EXPECT_EQ(r->shoppers(2).interactions(), 1);
  EXPECT_EQ(r->shoppers(3).interactions(), 0);

  v1::ListShoppersRequest loyal;
  loyal.set_segment("loyal");
  loyal.set_page_size(2);
  std::vector<std::string> ids;
  for (int page = 0; page < 5; ++page) {
    auto p = queries_->ListShoppers(loyal, absl::Seconds(5));
    ASSERT_THAT(p, IsOk());
    for (const auto& s : p->shoppers()) ids.push_back(s.id());
    if (p->next_page_token().empty()) break;
    loyal.set_page_token(p->next_page_token());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"c1", "c3", "c4"}));

  // A token of the "loyal" list used for "new"; a bad page size.
  v1::ListShoppersRequest other;
  other.set_segment("loyal");
  other.set_page_size(1);
  auto first = queries_->ListShoppers(other, absl::Seconds(5));
  ASSERT_THAT(first, IsOk());
  other.set_segment("new");
  other.set_page_token(first->next_page_token());
  EXPECT_EQ(queries_->ListShoppers(other, absl::Seconds(5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::ListShoppersRequest big;
  big.set_page_size(501);
  auto bad = queries_->ListShoppers(big, absl::Seconds(5));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().substr(0, 10), "page_size ");
}

TEST_F(DashboardQueriesTest, CampaignsWithTotalsAndPages) {
  // spring: 3 posts by 2 influencers; views 1000 + 0 + 3000, engagement
  // (100/1000, NULL, 600/3000).
  Exec(
      "INSERT INTO raw.campaign_posts (id, campaign_id, influencer, platform, "
      "views, likes, comments,"
      " shares, posted_at) VALUES"
      " ('a', 'spring', 'ana', 'instagram', 1000, 80, 10, 10, '2024-03-01Z'),"
      " ('b', 'spring', 'ana', 'tiktok', 0, 0, 0, 0, '2024-03-02Z'),"
      " ('c', 'spring', 'bo', 'youtube', 3000, 500, 50, 50, '2024-03-05Z'),"
      " ('d', 'autumn', 'cy', 'instagram', 10, 1, 0, 0, '2024-09-01Z'),"
      " ('e', 'winter', 'cy', 'instagram', 0, 0, 0, 0, '2024-12-01Z')");
  v1::ListCampaignsRequest req;
  auto r = queries_->ListCampaigns(req, absl::Seconds(5));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->campaigns_size(), 3);
  EXPECT_EQ(r->campaigns(0).campaign_id(), "autumn");
  const v1::Campaign& spring = r->campaigns(1);
  EXPECT_EQ(spring.campaign_id(), "spring");
  EXPECT_EQ(spring.posts(), 3);
  EXPECT_EQ(spring.influencers(), 2);
  EXPECT_EQ(spring.total_views(), 4000);
  EXPECT_NEAR(spring.mean_engagement_rate(), (0.1 + 0.2) / 2,
              1e-12);  // the NULL rate is left out
  EXPECT_EQ(spring.first_post_at().seconds(), 1709251200);
  EXPECT_EQ(spring.last_post_at().seconds(), 1709596800);
  EXPECT_EQ(r->campaigns(2).mean_engagement_rate(), 0);  // no post with views

  req.set_page_size(2);
  auto p1 = queries_->ListCampaigns(req, absl::Seconds(5));
  ASSERT_THAT(p1, IsOk());
  ASSERT_EQ(p1->campaigns_size(), 2);
  ASSERT_FALSE(p1->next_page_token().empty());
  req.set_page_token(p1->next_page_token());
  auto p2 = queries_->ListCampaigns(req, absl::Seconds(5));
  ASSERT_THAT(p2, IsOk());
  ASSERT_EQ(p2->campaigns_size(), 1);
  EXPECT_EQ(p2->campaigns(0).campaign_id(), "winter");
  EXPECT_TRUE(p2->next_page_token().empty());

  // A shopper token is not a campaign token.
  v1::ListShoppersRequest s;
  s.set_page_size(1);
  Exec("INSERT INTO raw.customers (id) VALUES ('x1'), ('x2')");
  auto shoppers = queries_->ListShoppers(s, absl::Seconds(5));
  ASSERT_THAT(shoppers, IsOk());
  req.set_page_token(shoppers->next_page_token());
  EXPECT_EQ(queries_->ListCampaigns(req, absl::Seconds(5)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::collector
