#include "services/gateway/path_template.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketlens::gateway {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::Pair;

PathTemplate MustParse(absl::string_view text) {
  absl::StatusOr<PathTemplate> t = PathTemplate::Parse(text);
  EXPECT_THAT(t, IsOk()) << text << ": " << t.status();
  return t.ok() ? *t : PathTemplate();
}

TEST(PathTemplateTest, LiteralOnly) {
  PathTemplate t = MustParse("/api/v1/products");
  EXPECT_TRUE(t.Match("/api/v1/products").has_value());
  EXPECT_FALSE(t.Match("/api/v1/products/").has_value());
  EXPECT_FALSE(t.Match("/api/v1/product").has_value());
  EXPECT_FALSE(t.Match("/api/v1").has_value());
  EXPECT_FALSE(t.Match("api/v1/products").has_value());
  EXPECT_FALSE(t.Match("/api/v1/products/x").has_value());
  EXPECT_EQ(t.literal_count(), 3);
  EXPECT_EQ(t.verb(), "");
}

TEST(PathTemplateTest, SingleVariable) {
  PathTemplate t = MustParse("/api/v1/products/{product_id}");
  auto b = t.Match("/api/v1/products/p-42");
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(*b, ElementsAre(Pair("product_id", "p-42")));
  EXPECT_FALSE(t.Match("/api/v1/products/").has_value()) << "a variable never binds an empty segment";
  EXPECT_FALSE(t.Match("/api/v1/products/a/b").has_value());
  EXPECT_EQ(t.variable_fields(), std::vector<std::string>{"product_id"});
}

TEST(PathTemplateTest, PercentDecodedValues) {
  PathTemplate t = MustParse("/api/v1/products/{product_id}/reviews");
  auto b = t.Match("/api/v1/products/a%2Fb%20c/reviews");
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(*b, ElementsAre(Pair("product_id", "a/b c")));
  // Literals are compared decoded too.
  EXPECT_TRUE(t.Match("/api/v1/products/x/%72eviews").has_value());
}

TEST(PathTemplateTest, CustomVerbOnVariable) {
  PathTemplate t = MustParse("/api/v1/models/{version}:promote");
  EXPECT_EQ(t.verb(), "promote");
  auto b = t.Match("/api/v1/models/v7:promote");
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(*b, ElementsAre(Pair("version", "v7")));
  EXPECT_FALSE(t.Match("/api/v1/models/v7").has_value());
  EXPECT_FALSE(t.Match("/api/v1/models/v7:rollback").has_value());
  EXPECT_FALSE(t.Match("/api/v1/models/:promote").has_value());
  // A colon inside the value is fine: only the last ":promote" is the verb.
  b = t.Match("/api/v1/models/a:b:promote");
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(*b, ElementsAre(Pair("version", "a:b")));
  EXPECT_EQ(t.OpenApiPath(), "/api/v1/models/{version}:promote");
}

TEST(PathTemplateTest, CustomVerbOnLiteral) {
  PathTemplate t = MustParse("/api/v1/models:rollback");
  EXPECT_EQ(t.verb(), "rollback");
  EXPECT_TRUE(t.Match("/api/v1/models:rollback").has_value());
  EXPECT_FALSE(t.Match("/api/v1/models").has_value());
  // And a template without a verb does not match a path with one.
  PathTemplate plain = MustParse("/api/v1/models");
  EXPECT_FALSE(plain.Match("/api/v1/models:rollback").has_value());
}

TEST(PathTemplateTest, NestedFieldAndPatterns) {
  PathTemplate t = MustParse("/v1/{shelf.name=shelves/*}/books/{book_id}");
  auto b = t.Match("/v1/shelves/s1/books/b2");
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(*b, ElementsAre(Pair("shelf.name", "shelves/s1"), Pair("book_id", "b2")));
  EXPECT_FALSE(t.Match("/v1/racks/s1/books/b2").has_value());
  EXPECT_EQ(t.OpenApiPath(), "/v1/{shelf.name}/books/{book_id}");

  PathTemplate rest = MustParse("/files/{path=**}");
  EXPECT_TRUE(rest.has_multi_wildcard());
  b = rest.Match("/files/a/b/c.txt");
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(*b, ElementsAre(Pair("path", "a/b/c.txt")));
  EXPECT_FALSE(rest.Match("/files").has_value());

  PathTemplate star = MustParse("/v1/*/items");
  EXPECT_TRUE(star.Match("/v1/anything/items").has_value());
  EXPECT_FALSE(star.Match("/v1//items").has_value());
}

TEST(PathTemplateTest, RejectsMalformedTemplates) {
  for (const char* bad :
       {"", "api/v1", "/api/{id", "/api/id}", "/api/{}", "/api/{1x}", "/api/{a}{b}", "/api/x{a}", "/api//x",
        "/api/**/x", "/api/{a=**}/x", "/api/{a}/{a}", "/api/x:", "/api/{a={b}}", "/"}) {
    EXPECT_FALSE(PathTemplate::Parse(bad).ok()) << bad;
  }
}

TEST(PercentDecodeTest, KeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("a%20b"), "a b");
  EXPECT_EQ(PercentDecode("%zz%"), "%zz%");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("%e2%82%AC"), "\xe2\x82\xac");
}

}  // namespace
}  // namespace marketlens::gateway
