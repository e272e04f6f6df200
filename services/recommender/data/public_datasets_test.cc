#include "services/recommender/data/public_datasets.h"

#include "absl/container/flat_hash_set.h"
#include "common/testing/real_data.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(OnlineRetailTest, ParsesQuotedFieldsAndDropsWhatIsNoPurchase) {
  const char* csv =
      "\"InvoiceNo\",\"StockCode\",\"Description\",\"Quantity\",\"InvoiceDate\",\"UnitPrice\",\"CustomerID\","
      "\"Country\"\r\n"
      "\"546306\",\"21733\",\"RED HANGING HEART T-LIGHT HOLDER\",2,\"2011-03-10 "
      "16:16:00\",2.95,17850,\"United "
      "Kingdom\"\r\n"
      "\"546306\",\"22111\",\"SCOTTIE DOG, \"\"HOT\"\" WATER BOTTLE\",1,\"2011-03-10 "
      "16:16:00\",4.95,17850,\"UK\"\r\n"
      "\"C546307\",\"21733\",\"RED HANGING HEART T-LIGHT HOLDER\",-2,\"2011-03-10 "
      "16:20:00\",2.95,17850,\"UK\"\r\n"
      "\"572516\",\"22336\",\"damaged\",-71,\"2011-10-24 14:45:00\",0,NA,\"United Kingdom\"\r\n"
      "\"572517\",\"POST\",\"POSTAGE\",1,\"2011-10-24 14:45:00\",18,12621,\"Germany\"\r\n"
      "\"572518\",\"21733\",\"RED HANGING HEART T-LIGHT HOLDER\",1,\"2011-10-24 "
      "15:00:00\",2.95,NA,\"UK\"\r\n";
  auto d = ParseOnlineRetailCsv(csv, "t.csv");
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->report.lines, 6);
  EXPECT_EQ(d->report.kept, 2);
  EXPECT_EQ(d->report.cancellations, 1);
  EXPECT_EQ(d->report.non_positive, 1);
  EXPECT_EQ(d->report.non_product, 1);
  EXPECT_EQ(d->report.no_customer, 1);
  ASSERT_EQ(d->log.events.size(), 2u);
  EXPECT_EQ(d->log.events[0].timestamp, 1299773760);              // 2011-03-10 16:16:00 UTC
  EXPECT_EQ(d->log.events[0].session, d->log.events[1].session);  // one invoice, one basket
  EXPECT_EQ(d->catalog.at("22111").title, "SCOTTIE DOG, \"HOT\" WATER BOTTLE");
  EXPECT_EQ(d->catalog.at("22111").category, "BOTTLE");
  EXPECT_EQ(d->catalog.at("21733").attributes[0].second, "2-5");

  auto anon = ParseOnlineRetailCsv(csv, "t.csv", {.keep_anonymous = true});
  ASSERT_THAT(anon, IsOk());
  EXPECT_EQ(anon->log.events.size(), 3u);
  EXPECT_TRUE(anon->log.users.Contains("anon:572518"));
}

TEST(OnlineRetailTest, MalformedLinesAreInvalidArgumentWithTheLine) {
  const std::string header =
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
  auto bad_qty = ParseOnlineRetailCsv(header + "1,2,x,many,2011-01-01 00:00:00,1,5,UK\n", "t.csv");
  EXPECT_EQ(bad_qty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_qty.status().message().find("t.csv:2"), std::string::npos);
  auto bad_date = ParseOnlineRetailCsv(header + "1,2,x,1,yesterday,1,5,UK\n", "t.csv");
  EXPECT_EQ(bad_date.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseOnlineRetailCsv("a,b\n", "t.csv").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadOnlineRetailCsv("/nonexistent/x.csv").status().code(), absl::StatusCode::kNotFound);
}

TEST(AmazonReviewsTest, ParsesJsonLinesWithAnyKeyOrder) {
  const char* json =
      "{\"overall\": 5.0, \"reviewerID\": \"U1\", \"asin\": \"A\", \"style\": {\"Format:\": \" Print "
      "Magazine\"}, "
      "\"unixReviewTime\": 1529193600}\n"
      "{\"asin\": \"B\", \"unixReviewTime\": 1528934400, \"overall\": 2.0, \"reviewerID\": \"U1\"}\n";
  auto d = ParseAmazonReviewsJson(json, "t.json");
  ASSERT_THAT(d, IsOk());
  ASSERT_EQ(d->log.events.size(), 2u);
  EXPECT_EQ(d->log.events[1].value, 2.0f);
  EXPECT_EQ(d->log.events[0].timestamp, 1529193600);
  EXPECT_EQ(d->catalog.at("A").category, "Print Magazine");
  EXPECT_EQ(ParseAmazonReviewsJson("{\"asin\": \"B\"}\n", "t.json").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAmazonReviewsJson("not json\n", "t.json").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The real files: counts as documented in ../shared/data/SOURCES.md.
TEST(PublicDatasetsTest, RealOnlineRetailSample) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "online-retail/online_retail_sample.csv");
  auto d = ReadOnlineRetailCsv(path);
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->report.lines, 20000);
  EXPECT_EQ(d->report.cancellations, 350);  // SOURCES.md: 350 cancellation rows
  EXPECT_GT(d->report.no_customer, 4000);
  EXPECT_GT(d->log.events.size(), 14000u);
  EXPECT_GT(d->log.users.size(), 2500);
  EXPECT_GT(d->log.items.size(), 2400);  // of 2,855 stock codes; the rest only in dropped lines
}

TEST(PublicDatasetsTest, RealAmazonFiveCore) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "amazon-5core/Magazine_Subscriptions_5.json");
  auto d = ReadAmazonReviewsJson(path);
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->log.events.size(), 2375u);  // SOURCES.md: 2,375 rows, 348 reviewers, 157 asins
  EXPECT_EQ(d->log.users.size(), 348);
  EXPECT_EQ(d->log.items.size(), 157);
}

}  // namespace
}  // namespace marketlens::recommender
