#include "services/marketplace/json_lite.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::marketplace::json {
namespace {

using ::marketlens::testing::IsOk;

TEST(JsonLiteTest, ParsesAnAmazonReview) {
  auto v = Parse(R"({"reviewerID": "A2SUAM1J3GNN3B", "asin": "0000013714", "helpful": [2, 3],
      "reviewText": "I bought this for my husband \"Joe\" \u00e9 \ud83d\ude00", "overall": 5.0,
      "verified": true, "vote": "1,234", "style": {"Format:": " Hardcover"}, "x": null})",
                 {.lenient = false});
  ASSERT_THAT(v, IsOk()) << v.status();
  EXPECT_EQ(v->Find("reviewerID")->text(), "A2SUAM1J3GNN3B");
  EXPECT_EQ(v->Find("overall")->number(), 5.0);
  EXPECT_EQ(v->Find("overall")->text(), "5.0");
  EXPECT_TRUE(v->Find("verified")->bool_value());
  EXPECT_EQ(v->Find("helpful")->items().size(), 2u);
  EXPECT_EQ(v->Find("reviewText")->text(), "I bought this for my husband \"Joe\" \xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(v->Find("style")->Find("Format:")->text(), " Hardcover");
  EXPECT_TRUE(v->Find("x")->is_null());
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonLiteTest, LenientAcceptsPythonReprs) {
  const char* line =
      "{'asin': '0000031852', 'title': \"Kid's Tutu\", 'price': 3.17, 'x': True, 'y': None, "
      "'categories': [['Sports & Outdoors', 'Dance']], 'n': 'caf\\xe9'}";
  auto v = Parse(line);
  ASSERT_THAT(v, IsOk()) << v.status();
  EXPECT_EQ(v->Find("title")->text(), "Kid's Tutu");
  EXPECT_DOUBLE_EQ(v->Find("price")->number(), 3.17);
  EXPECT_TRUE(v->Find("x")->bool_value());
  EXPECT_EQ(v->Find("categories")->items()[0].items()[1].text(), "Dance");
  EXPECT_EQ(v->Find("n")->text(), "caf\xc3\xa9");
  EXPECT_FALSE(Parse(line, {.lenient = false}).ok());
}

TEST(JsonLiteTest, RejectsMalformedInput) {
  for (const char* bad : {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "{\"a\":1}x", "\"abc", "01x",
                          "-", "{\"a\":tru}", "\"\\q\"", "\"\\u12\"", "{a:1}", "nul"}) {
    EXPECT_FALSE(Parse(bad).ok()) << bad;
  }
  std::string deep(100, '[');
  EXPECT_FALSE(Parse(deep).ok());
}

}  // namespace
}  // namespace marketlens::marketplace::json
