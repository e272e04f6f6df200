// Pure helpers of the crawl library: ETA, ids, JSON for jsonb_to_recordset.
#include <vector>

#include "gtest/gtest.h"
#include "services/collector/crawl_store.h"
#include "services/collector/resources.h"

namespace marketlens::collector {
namespace {

TEST(EstimateEtaSeconds, CountsTheRemainingPagesAtTheClientRate) {
  std::vector<CheckpointRow> cps(3);
  cps[0].expected_items = 1000;  // 10 pages, 4 done: 6 left
  cps[0].items = 400;
  cps[1].expected_items = 50;  // done
  cps[1].done = true;
  cps[2].expected_items = 0;                        // an empty list still takes one page
  EXPECT_EQ(EstimateEtaSeconds(cps, 3.5, 100), 2);  // 7 pages / 3.5 per s
  cps[2].since = absl::Now();                       // an incremental walk: unknown
  EXPECT_EQ(EstimateEtaSeconds(cps, 3.5, 100), -1);
}

TEST(IsUuid, Shape) {
  EXPECT_TRUE(IsUuid("798a4cb1-bcbf-471e-90fd-ebe159fc158e"));
  EXPECT_FALSE(IsUuid("798a4cb1bcbf471e90fdebe159fc158e"));
  EXPECT_FALSE(IsUuid("798a4cb1-bcbf-471e-90fd-ebe159fc158g"));
  EXPECT_FALSE(IsUuid("'; DROP TABLE x; --"));
}

TEST(Json, QuotesAndTimestamps) {
  EXPECT_EQ(JsonQuote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
  EXPECT_EQ(JsonQuote(std::string("x\0y", 3)), "\"x\xEF\xBF\xBDy\"");  // jsonb refuses \u0000
  google::protobuf::Timestamp ts;
  EXPECT_EQ(JsonTimestamp(ts), "null");
  EXPECT_EQ(JsonTimestamp(ts, false), "\"1970-01-01T00:00:00.000000Z\"");
  ts.set_seconds(1705312800);
  ts.set_nanos(250000000);
  EXPECT_EQ(JsonTimestamp(ts), "\"2024-01-15T10:00:00.250000Z\"");
}

TEST(Resources, AllSixInOrder) {
  EXPECT_EQ(ResourceNames(), (std::vector<std::string>{"products", "reviews", "customers", "interactions",
                                                       "campaign_posts", "contacts"}));
  EXPECT_TRUE(FindResource("reviews")->supports_since);
  EXPECT_TRUE(FindResource("customers")->supports_since);  // updated_since
  EXPECT_TRUE(FindResource("campaign_posts")->supports_since);
  EXPECT_EQ(FindResource("nope"), nullptr);
}

}  // namespace
}  // namespace marketlens::collector
