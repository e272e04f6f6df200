#include "services/gateway/request_binder.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "marketlens/analyzer/v1/analyzer.pb.h"
#include "marketlens/collector/v1/collector.pb.h"
#include "marketlens/recommender/v1/recommender.pb.h"

namespace marketlens::gateway {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

class BinderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = RouteTable::Build({analyzer::v1::AnalyzeTextRequest::descriptor()->file()->service(0),
                                recommender::v1::RecommendRequest::descriptor()->file()->service(0),
                                collector::v1::StartCrawlRequest::descriptor()->file()->service(0)});
    ASSERT_THAT(t, IsOk());
    table_ = new RouteTable(*std::move(t));
  }
  static void TearDownTestSuite() { delete table_; }

  // Binds method + target (+ body) into `out`; returns the error, if any.
  std::optional<ApiError> Bind(absl::string_view method, absl::string_view target, absl::string_view body,
                               google::protobuf::Message* out) {
    absl::string_view path = target, query;
    if (size_t q = target.find('?'); q != absl::string_view::npos) {
      path = target.substr(0, q);
      query = target.substr(q + 1);
    }
    RouteTable::Lookup l = table_->Find(method, path);
    EXPECT_NE(l.route, nullptr) << method << " " << target;
    if (l.route == nullptr) return MakeError(absl::StatusCode::kNotFound, "no route");
    EXPECT_EQ(l.route->method->input_type(), out->GetDescriptor());
    return BindRequest(*l.route, l.bindings, query, body, out);
  }

  template <typename M>
  M Expect(absl::string_view text) {
    M m;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text), &m)) << text;
    return m;
  }

  // The error of a bind that must fail.
  template <typename M>
  ApiError Fail(absl::string_view method, absl::string_view target, absl::string_view body = "") {
    M m;
    std::optional<ApiError> err = Bind(method, target, body, &m);
    EXPECT_TRUE(err.has_value()) << method << " " << target << " " << body << " bound to "
                                 << m.ShortDebugString();
    if (!err.has_value()) return ApiError();
    EXPECT_EQ(err->code, absl::StatusCode::kInvalidArgument) << err->message;
    return *err;
  }

  static RouteTable* table_;
};
RouteTable* BinderTest::table_ = nullptr;

#define EXPECT_PROTO_EQ(a, b)                                           \
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a, b)) \
      << (a).ShortDebugString() << " vs " << (b).ShortDebugString()

TEST_F(BinderTest, QueryParametersByProtoAndJsonName) {
  analyzer::v1::ListProductInsightsRequest m;
  ASSERT_FALSE(Bind(
      "GET", "/api/v1/products?category=kitchen&min_rating=3.5&pageSize=20&sort=-rating&q=a+b%21", "", &m));
  EXPECT_PROTO_EQ(m, Expect<analyzer::v1::ListProductInsightsRequest>(
                         R"(category: "kitchen" min_rating: 3.5 page_size: 20 sort: "-rating" q: "a b!")"));

  analyzer::v1::TopPerformersRequest tp1, tp2;
  ASSERT_FALSE(Bind("GET", "/api/v1/top-performers?campaignId=c9&limit=3", "", &tp1));
  ASSERT_FALSE(Bind("GET", "/api/v1/top-performers?campaign_id=c9&limit=3", "", &tp2));
  EXPECT_EQ(tp1.campaign_id(), "c9");
  EXPECT_PROTO_EQ(tp1, tp2);
}

TEST_F(BinderTest, RepeatedFieldsByRepetitionAndComma) {
  recommender::v1::FrequentlyBoughtTogetherRequest m;
  ASSERT_FALSE(
      Bind("GET", "/api/v1/frequently-bought-together?item_ids=a&itemIds=b,c&item_ids=,d,&n=4", "", &m));
  EXPECT_THAT(m.item_ids(), ElementsAre("a", "b", "c", "d"));
  EXPECT_EQ(m.n(), 4);
}

TEST_F(BinderTest, NestedFieldsAndWellKnownTypes) {
  recommender::v1::RecommendRequest m;
  ASSERT_FALSE(Bind("GET",
                    "/api/v1/recommendations?user_id=u1&n=5&surface=home&context.device=mobile"
                    "&context.time=2024-03-01T10:00:00Z&sessionItems=p1,p2",
                    "", &m));
  EXPECT_EQ(m.user_id(), "u1");
  EXPECT_EQ(m.context().device(), "mobile");
  EXPECT_EQ(m.context().time().seconds(), 1709287200);
  EXPECT_THAT(m.session_items(), ElementsAre("p1", "p2"));

  ApiError e =
      Fail<recommender::v1::RecommendRequest>("GET", "/api/v1/recommendations?context.time=yesterday");
  EXPECT_EQ(e.field, "context.time");
  EXPECT_THAT(e.message, HasSubstr("not a valid Timestamp"));
  e = Fail<recommender::v1::RecommendRequest>("GET", "/api/v1/recommendations?context=x");
  EXPECT_EQ(e.field, "context");
  EXPECT_THAT(e.message, HasSubstr("context.<field>"));
}

TEST_F(BinderTest, EmptyValuesLeaveFieldsUnset) {
  analyzer::v1::ListProductInsightsRequest m;
  ASSERT_FALSE(Bind("GET", "/api/v1/products?category=&page_size=&sort", "", &m));
  EXPECT_PROTO_EQ(m, analyzer::v1::ListProductInsightsRequest());
}

TEST_F(BinderTest, WrongTypesNameTheField) {
  ApiError e = Fail<analyzer::v1::ListProductInsightsRequest>("GET", "/api/v1/products?page_size=abc");
  EXPECT_EQ(e.field, "page_size");
  EXPECT_THAT(e.message, HasSubstr("\"abc\" is not a valid int32"));
  e = Fail<analyzer::v1::ListProductInsightsRequest>("GET", "/api/v1/products?pageSize=99999999999");
  EXPECT_EQ(e.field, "page_size");
  e = Fail<analyzer::v1::ListProductInsightsRequest>("GET", "/api/v1/products?min_rating=high");
  EXPECT_EQ(e.field, "min_rating");
  EXPECT_THAT(e.message, HasSubstr("not a number"));
  e = Fail<analyzer::v1::ListProductInsightsRequest>("GET", "/api/v1/products?q=%FF%FE");
  EXPECT_EQ(e.field, "q");
  EXPECT_THAT(e.message, HasSubstr("UTF-8"));
}

TEST_F(BinderTest, UnknownDuplicatedAndPathBoundParameters) {
  ApiError e = Fail<analyzer::v1::ListProductInsightsRequest>("GET", "/api/v1/products?page_sise=3");
  EXPECT_EQ(e.field, "page_sise");
  EXPECT_THAT(e.message, HasSubstr("unknown query parameter \"page_sise\""));
  e = Fail<analyzer::v1::ListProductInsightsRequest>("GET", "/api/v1/products?page_size=3&pageSize=4");
  EXPECT_EQ(e.field, "page_size");
  EXPECT_THAT(e.message, HasSubstr("more than once"));
  e = Fail<analyzer::v1::GetProductInsightsRequest>("GET", "/api/v1/products/p1?product_id=p2");
  EXPECT_EQ(e.field, "product_id");
  EXPECT_THAT(e.message, HasSubstr("set by the path"));
  e = Fail<analyzer::v1::ListProductInsightsRequest>("GET", "/api/v1/products?category.x=3");
  EXPECT_EQ(e.field, "category.x");
}

TEST_F(BinderTest, PathVariables) {
  analyzer::v1::ListProductReviewsRequest m;
  ASSERT_FALSE(Bind("GET", "/api/v1/products/B00%2F42/reviews?page_size=5", "", &m));
  EXPECT_EQ(m.product_id(), "B00/42");
  EXPECT_EQ(m.page_size(), 5);
  recommender::v1::PromoteModelRequest p;
  ASSERT_FALSE(Bind("POST", "/api/v1/models/als-7:promote", "", &p));
  EXPECT_EQ(p.version(), "als-7");
}

TEST_F(BinderTest, JsonBody) {
  recommender::v1::RecommendRequest m;
  ASSERT_FALSE(Bind("POST", "/api/v1/recommendations",
                    R"({"userId":"u1","n":3,"context":{"device":"web","time":"2024-03-01T10:00:00Z"},
                        "session_items":["a","b"]})",
                    &m));
  EXPECT_PROTO_EQ(m, Expect<recommender::v1::RecommendRequest>(
                         R"(user_id: "u1" n: 3 context { device: "web" time { seconds: 1709287200 } }
                            session_items: "a" session_items: "b")"));
  // Enums by name or number.
  collector::v1::StartCrawlRequest c1, c2;
  ASSERT_FALSE(Bind("POST", "/api/v1/crawls", R"({"mode":"CRAWL_MODE_FULL","resources":["reviews"]})", &c1));
  ASSERT_FALSE(Bind("POST", "/api/v1/crawls", R"({"mode":1,"resources":["reviews"]})", &c2));
  EXPECT_EQ(c1.mode(), collector::v1::CRAWL_MODE_FULL);
  EXPECT_PROTO_EQ(c1, c2);
  // An empty body is an empty request.
  collector::v1::StartCrawlRequest c3;
  EXPECT_FALSE(Bind("POST", "/api/v1/crawls", "  ", &c3));
}

TEST_F(BinderTest, BadJsonBodies) {
  using recommender::v1::RecommendRequest;
  ApiError e = Fail<RecommendRequest>("POST", "/api/v1/recommendations", R"({"n":"abc"})");
  EXPECT_EQ(e.field, "n");
  EXPECT_THAT(e.message, HasSubstr("expected int32"));
  e = Fail<RecommendRequest>("POST", "/api/v1/recommendations", R"({"userId": 5})");
  EXPECT_EQ(e.field, "user_id");
  e = Fail<RecommendRequest>("POST", "/api/v1/recommendations", R"({"context":{"device":3}})");
  EXPECT_EQ(e.field, "context.device");
  e = Fail<RecommendRequest>("POST", "/api/v1/recommendations", R"({"context":{"time":"noon"}})");
  EXPECT_EQ(e.field, "context.time");
  e = Fail<RecommendRequest>("POST", "/api/v1/recommendations", R"({"user":"u1"})");
  EXPECT_EQ(e.field, "user");
  EXPECT_THAT(e.message, HasSubstr("unknown field"));
  // Unknown fields below the top name their whole path.
  e = Fail<RecommendRequest>("POST", "/api/v1/recommendations", R"({"context":{"colour":"red"}})");
  EXPECT_EQ(e.field, "context.colour");
  EXPECT_THAT(e.message, HasSubstr("unknown field \"context.colour\""));
  // A body bound to one field (body: "experiment"): the JSON is that field's message, not the request.
  e = Fail<recommender::v1::CreateExperimentRequest>("POST", "/api/v1/experiments",
                                                     R"({"experiment":{"id":"x"}})");
  EXPECT_EQ(e.field, "experiment.experiment");
  e = Fail<RecommendRequest>("POST", "/api/v1/recommendations", R"({"userId":"u1",)");
  EXPECT_EQ(e.field, "");
  EXPECT_THAT(e.message, HasSubstr("malformed JSON"));
  e = Fail<RecommendRequest>("POST", "/api/v1/recommendations", "[1,2]");
  EXPECT_THAT(e.message, HasSubstr("JSON object"));
  e = Fail<collector::v1::StartCrawlRequest>("POST", "/api/v1/crawls", R"({"mode":"SOMETIMES"})");
  EXPECT_EQ(e.field, "mode");
}

TEST_F(BinderTest, BodyAndQueryRules) {
  // A body on a route without a body option.
  ApiError e = Fail<analyzer::v1::ListProductInsightsRequest>("GET", "/api/v1/products", R"({"q":"x"})");
  EXPECT_THAT(e.message, HasSubstr("takes no request body"));
  analyzer::v1::ListProductInsightsRequest ok;
  EXPECT_FALSE(Bind("GET", "/api/v1/products", " {} ", &ok));
  // Query parameters on a body "*" route.
  e = Fail<recommender::v1::RecommendRequest>("POST", "/api/v1/recommendations?n=3", R"({"userId":"u1"})");
  EXPECT_EQ(e.field, "n");
  EXPECT_THAT(e.message, HasSubstr("JSON body"));
}

TEST(ParseQueryStringTest, DecodesKeysAndValues) {
  EXPECT_THAT(
      ParseQueryString("a=1&b=x%20y&&c=d+e&flag&e=%3D%26"),
      ElementsAre(Pair("a", "1"), Pair("b", "x y"), Pair("c", "d e"), Pair("flag", ""), Pair("e", "=&")));
  EXPECT_TRUE(ParseQueryString("").empty());
}

// A body naming one field, and path variables overriding the body, on a made-up service.
TEST(BinderMadeUpTest, BodyFieldAndPathOverride) {
  google::protobuf::FileDescriptorProto fp;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "test/y.proto"
        package: "t"
        syntax: "proto3"
        message_type {
          name: "Sub"
          field { name: "name" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "name" }
          field { name: "size" number: 2 type: TYPE_INT64 label: LABEL_OPTIONAL json_name: "size" }
        }
        message_type {
          name: "Req"
          field { name: "id" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "id" }
          field {
            name: "sub"
            number: 3
            type: TYPE_MESSAGE
            type_name: ".t.Sub"
            label: LABEL_OPTIONAL
            json_name: "sub"
          }
          field { name: "n" number: 4 type: TYPE_INT32 label: LABEL_OPTIONAL json_name: "n" }
          field { name: "flag" number: 5 type: TYPE_BOOL label: LABEL_OPTIONAL json_name: "flag" }
          field { name: "raw" number: 6 type: TYPE_BYTES label: LABEL_OPTIONAL json_name: "raw" }
        }
        service {
          name: "S"
          method {
            name: "Put"
            input_type: ".t.Req"
            output_type: ".t.Sub"
            options {
              [marketlens.api.http] { put: "/x/{id}" body: "sub" }
            }
          }
          method {
            name: "Post"
            input_type: ".t.Req"
            output_type: ".t.Sub"
            options {
              [marketlens.api.http] { post: "/y/{id}" body: "*" }
            }
          }
        }
      )pb",
      &fp));
  google::protobuf::DescriptorPool pool;
  const google::protobuf::FileDescriptor* file = pool.BuildFile(fp);
  ASSERT_NE(file, nullptr);
  auto table = RouteTable::Build({file->service(0)});
  ASSERT_THAT(table, IsOk());
  google::protobuf::DynamicMessageFactory factory(&pool);
  const google::protobuf::Descriptor* req = pool.FindMessageTypeByName("t.Req");

  std::unique_ptr<google::protobuf::Message> m(factory.GetPrototype(req)->New());
  RouteTable::Lookup l = table->Find("PUT", "/x/k1");
  ASSERT_NE(l.route, nullptr);
  ASSERT_FALSE(
      BindRequest(*l.route, l.bindings, "n=7&flag=true&raw=aGk", R"({"name":"s","size":"12"})", m.get()));
  EXPECT_EQ(m->ShortDebugString(), R"(id: "k1" sub { name: "s" size: 12 } n: 7 flag: true raw: "hi")");

  auto err = BindRequest(*l.route, l.bindings, "sub.name=z", "{}", m.get());
  ASSERT_TRUE(err.has_value());
  EXPECT_THAT(err->message, HasSubstr("set by the body"));
  m->Clear();
  err = BindRequest(*l.route, l.bindings, "flag=yes", "{}", m.get());
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->field, "flag");
  m->Clear();
  err = BindRequest(*l.route, l.bindings, "", R"({"size":"big"})", m.get());
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->field, "sub.size");

  // The path wins over the body.
  m->Clear();
  l = table->Find("POST", "/y/from-path");
  ASSERT_NE(l.route, nullptr);
  ASSERT_FALSE(BindRequest(*l.route, l.bindings, "", R"({"id":"from-body","n":2})", m.get()));
  EXPECT_EQ(m->ShortDebugString(), R"(id: "from-path" n: 2)");
}

}  // namespace
}  // namespace marketlens::gateway
