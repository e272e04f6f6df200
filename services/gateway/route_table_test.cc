#include "services/gateway/route_table.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "marketlens/analyzer/v1/analyzer.pb.h"
#include "marketlens/api/annotations.pb.h"
#include "marketlens/collector/v1/collector.pb.h"
#include "marketlens/privacy/v1/privacy.pb.h"
#include "marketlens/recommender/v1/recommender.pb.h"

namespace marketlens::gateway {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::vector<const google::protobuf::ServiceDescriptor*> RealServices() {
  return {analyzer::v1::AnalyzeTextRequest::descriptor()->file()->service(0),
          recommender::v1::RecommendRequest::descriptor()->file()->service(0),
          collector::v1::StartCrawlRequest::descriptor()->file()->service(0),
          privacy::v1::Erasure::descriptor()->file()->service(0)};
}

class RealRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RouteTable> t = RouteTable::Build(RealServices());
    ASSERT_THAT(t, IsOk());
    table_ = *std::move(t);
  }
  // "Service.Method" of the route found, or "" / "405:GET,POST".
  std::string Find(absl::string_view method, absl::string_view path) {
    RouteTable::Lookup l = table_.Find(method, path);
    if (l.route == nullptr) {
      return l.allowed_methods.empty() ? "" : absl::StrCat("405:", absl::StrJoin(l.allowed_methods, ","));
    }
    return std::string(l.route->method->service()->name() + "." + l.route->method->name());
  }
  RouteTable table_;
};

TEST_F(RealRoutesTest, EveryDesignRouteIsDeclaredInTheProtos) {
  // docs/api.md.
  EXPECT_EQ(Find("GET", "/api/v1/products"), "AnalyzerService.ListProductInsights");
  EXPECT_EQ(Find("GET", "/api/v1/products/p1"), "AnalyzerService.GetProductInsights");
  EXPECT_EQ(Find("GET", "/api/v1/products/p1/reviews"), "AnalyzerService.ListProductReviews");
  EXPECT_EQ(Find("GET", "/api/v1/alerts"), "AnalyzerService.ListAlerts");
  EXPECT_EQ(Find("GET", "/api/v1/recommendations"), "RecommenderService.Recommend");
  EXPECT_EQ(Find("POST", "/api/v1/recommendations"), "RecommenderService.Recommend");
  EXPECT_EQ(Find("GET", "/api/v1/similar-items"), "RecommenderService.SimilarItems");
  EXPECT_EQ(Find("GET", "/api/v1/frequently-bought-together"), "RecommenderService.FrequentlyBoughtTogether");
  EXPECT_EQ(Find("POST", "/api/v1/feedback"), "RecommenderService.RecordFeedback");
  EXPECT_EQ(Find("GET", "/api/v1/top-performers"), "AnalyzerService.TopPerformers");
  EXPECT_EQ(Find("POST", "/api/v1/briefs"), "AnalyzerService.GenerateBrief");
  EXPECT_EQ(Find("GET", "/api/v1/generate-content/c1"), "AnalyzerService.GenerateContent");
  EXPECT_EQ(Find("GET", "/api/v1/summarized_interactions/c1"), "AnalyzerService.SummarizeInteractions");
  EXPECT_EQ(Find("GET", "/api/v1/interactions-by-product"), "AnalyzerService.InteractionsByProduct");
  EXPECT_EQ(Find("POST", "/api/v1/crawls"), "CollectorService.StartCrawl");
  EXPECT_EQ(Find("GET", "/api/v1/crawls/c1"), "CollectorService.GetCrawl");
  EXPECT_EQ(Find("GET", "/api/v1/models"), "RecommenderService.ListModels");
  EXPECT_EQ(Find("POST", "/api/v1/models/v3:promote"), "RecommenderService.PromoteModel");
  EXPECT_EQ(Find("GET", "/api/v1/experiments/e1/results"), "RecommenderService.GetExperimentResults");
  // Beyond the first version of the routes.
  EXPECT_EQ(Find("POST", "/api/v1/models:rollback"), "RecommenderService.RollbackModel");
  EXPECT_EQ(Find("POST", "/api/v1/crawls/c1:cancel"), "CollectorService.CancelCrawl");
  EXPECT_EQ(Find("DELETE", "/api/v1/users/u1"), "PrivacyService.RequestErasure");
  EXPECT_EQ(Find("GET", "/api/v1/users/u1/export"), "PrivacyService.ExportUser");
  EXPECT_EQ(Find("GET", "/api/v1/erasures/e1"), "PrivacyService.GetErasure");
}

TEST_F(RealRoutesTest, WrongMethodListsTheAllowedOnes) {
  EXPECT_EQ(Find("DELETE", "/api/v1/products"), "405:GET");
  EXPECT_EQ(Find("PUT", "/api/v1/recommendations"), "405:GET,POST");
  EXPECT_EQ(Find("GET", "/api/v1/models:rollback"), "405:POST");
  EXPECT_EQ(Find("GET", "/api/v1/models/v3:promote"), "405:POST");
}

TEST_F(RealRoutesTest, UnknownPaths) {
  EXPECT_EQ(Find("GET", "/api/v1/nope"), "");
  EXPECT_EQ(Find("GET", "/api/v1/products/"), "");
  EXPECT_EQ(Find("GET", "/api/v1/products/p1/reviews/extra"), "");
  EXPECT_EQ(Find("GET", "/api/v2/products"), "");
  EXPECT_EQ(Find("POST", "/api/v1/models/v3:demote"), "");
}

TEST_F(RealRoutesTest, BindingsAndRouteDetails) {
  RouteTable::Lookup l = table_.Find("POST", "/api/v1/models/v%203:promote");
  ASSERT_NE(l.route, nullptr);
  EXPECT_THAT(l.bindings, ElementsAre(Pair("version", "v 3")));
  EXPECT_EQ(l.route->grpc_path, "/marketlens.recommender.v1.RecommenderService/PromoteModel");
  EXPECT_EQ(l.route->label, "POST /api/v1/models/{version}:promote");
  EXPECT_EQ(l.route->body, "");

  l = table_.Find("POST", "/api/v1/recommendations");
  ASSERT_NE(l.route, nullptr);
  EXPECT_EQ(l.route->body, "*");
  EXPECT_EQ(l.route->binding, 1);
  l = table_.Find("GET", "/api/v1/recommendations");
  ASSERT_NE(l.route, nullptr);
  EXPECT_EQ(l.route->binding, 0);

  // GetCrawl binds a value with a colon when the method is GET (CancelCrawl's verb is POST only).
  l = table_.Find("GET", "/api/v1/crawls/a:b");
  ASSERT_NE(l.route, nullptr);
  EXPECT_EQ(l.route->method->name(), "GetCrawl");
  EXPECT_THAT(l.bindings, ElementsAre(Pair("crawl_id", "a:b")));
}

TEST_F(RealRoutesTest, StreamingRpcsWithoutAnOptionAreSkipped) {
  for (const Route& r : table_.routes()) EXPECT_NE(r.method->name(), "IngestFile");
  EXPECT_EQ(table_.services().size(), 4u);  // collector, analyzer, recommender, privacy (the gateway)
}

// ---- Rules checked at build time, on services made up in a private pool ----------------------------

class BadRulesTest : public ::testing::Test {
 protected:
  // A file with messages Req { string id = 1; repeated string ids = 2; Sub sub = 3; int32 n = 4; } and
  // Sub { string name = 1; }, and service S with the given methods (text format).
  absl::StatusOr<RouteTable> BuildWith(const std::string& methods) {
    const std::string text = absl::StrCat(
        R"pb(
          name: "test/x.proto"
          package: "t"
          syntax: "proto3"
          message_type {
            name: "Sub"
            field { name: "name" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "name" }
          }
          message_type {
            name: "Req"
            field { name: "id" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "id" }
            field { name: "ids" number: 2 type: TYPE_STRING label: LABEL_REPEATED json_name: "ids" }
            field {
              name: "sub"
              number: 3
              type: TYPE_MESSAGE
              type_name: ".t.Sub"
              label: LABEL_OPTIONAL
              json_name: "sub"
            }
            field { name: "n" number: 4 type: TYPE_INT32 label: LABEL_OPTIONAL json_name: "n" }
          }
          service { name: "S")pb",
        methods, "}");
    google::protobuf::FileDescriptorProto fp;
    if (!google::protobuf::TextFormat::ParseFromString(text, &fp))
      return absl::InternalError("bad test proto");
    pool_ = std::make_unique<google::protobuf::DescriptorPool>();
    const google::protobuf::FileDescriptor* file = pool_->BuildFile(fp);
    if (file == nullptr) return absl::InternalError("pool refused the test proto");
    return RouteTable::Build({file->service(0)});
  }
  static std::string Method(absl::string_view name, absl::string_view rule, bool stream = false) {
    return absl::StrCat("method { name: \"", name, "\" input_type: \".t.Req\" output_type: \".t.Sub\" ",
                        stream ? "server_streaming: true " : "", "options { [marketlens.api.http] { ", rule,
                        " } } }");
  }
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
};

TEST_F(BadRulesTest, AValidMadeUpServiceBuilds) {
  auto t = BuildWith(Method("Get", R"(get: "/x/{id}")") + Method("Nested", R"(get: "/y/{sub.name}")") +
                     Method("Put", R"(put: "/x/{id}" body: "sub")") +
                     Method("Del", R"(delete: "/x/{id}" additional_bindings { post: "/x/{id}:delete" })"));
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->routes().size(), 5u);
  RouteTable::Lookup l = t->Find("GET", "/y/abc");
  ASSERT_NE(l.route, nullptr);
  EXPECT_THAT(l.bindings, ElementsAre(Pair("sub.name", "abc")));
  l = t->Find("PUT", "/x/1");
  ASSERT_NE(l.route, nullptr);
  ASSERT_EQ(l.route->body_field.size(), 1u);
  EXPECT_EQ(l.route->body_field[0]->name(), "sub");
}

TEST_F(BadRulesTest, InconsistentRulesAreRefusedWithTheRpcName) {
  struct Case {
    std::string methods;
    std::string error;
  };
  const std::vector<Case> cases = {
      {Method("A", R"(get: "/x/{missing}")"), "no field \"missing\""},
      {Method("A", R"(get: "/x/{ids}")"), "singular scalar"},
      {Method("A", R"(get: "/x/{sub}")"), "singular scalar"},
      {Method("A", R"(get: "/x/{n.z}")"), "cannot have sub-fields"},
      {Method("A", R"(post: "/x" body: "nope")"), "body \"nope\""},
      {Method("A", R"(post: "/x/{id}" body: "id")"), "also a path variable"},
      {Method("A", R"(get: "/x/{id")"), "missing '}'"},
      {Method("A", R"(body: "*")"), "no get/put/post/delete/patch"},
      {Method("A", R"(get: "/x")", /*stream=*/true), "streaming"},
      {Method("A", R"(get: "/x/{id}")") + Method("B", R"(get: "/x/{n}")"), "declared by another RPC"},
      {Method("A", R"(get: "/x" additional_bindings { get: "/y" additional_bindings { get: "/z" } })"),
       "cannot nest"},
  };
  for (const Case& c : cases) {
    auto t = BuildWith(c.methods);
    ASSERT_FALSE(t.ok()) << c.methods;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(c.error)) << c.methods;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("t.S.")) << "names the RPC";
  }
}

TEST_F(BadRulesTest, MoreSpecificRoutesWin) {
  auto t = BuildWith(Method("Any", R"(get: "/x/{id}")") + Method("Me", R"(get: "/x/me")") +
                     Method("Rest", R"(get: "/x/{id=**}")"));
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->Find("GET", "/x/me").route->method->name(), "Me");
  EXPECT_EQ(t->Find("GET", "/x/you").route->method->name(), "Any");
  EXPECT_EQ(t->Find("GET", "/x/a/b").route->method->name(), "Rest");
}

}  // namespace
}  // namespace marketlens::gateway
