#include "services/recommender/eval/report.h"

#include "common/testing/protobuf_status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;

std::vector<AlgorithmResult> Results() {
  AlgorithmResult pop{.name = "popularity"};
  pop.metrics = {.precision = 0.1, .recall = 0.2, .ndcg = 0.1, .map = 0.05, .coverage = 0.01, .users = 10};
  AlgorithmResult als{.name = "als", .params = {{"factors", "32"}}};
  als.metrics = {.precision = 0.2, .recall = 0.3, .ndcg = 0.15, .map = 0.1, .coverage = 0.4, .users = 10};
  AlgorithmResult content{.name = "content", .status = absl::FailedPreconditionError("no item \"metadata\"")};
  return {pop, als, content};
}

TEST(ReportTest, TableShowsMetricsBaselineAndSkips) {
  std::string table = FormatTable(Results(), {.protocol = "files", .k = 10});
  EXPECT_THAT(table, HasSubstr("NDCG@10"));
  EXPECT_THAT(table, HasSubstr("baseline"));
  EXPECT_THAT(table, HasSubstr("+50.0%"));
  EXPECT_THAT(table, HasSubstr("content              skipped: no item"));
}

TEST(ReportTest, JsonIsValidAndComplete) {
  std::string json = FormatJson(Results(), {.protocol = "files", .k = 10});
  google::protobuf::Struct parsed;
  ASSERT_THAT(google::protobuf::util::JsonStringToMessage(json, &parsed), IsOk()) << json;
  const auto& results = parsed.fields().at("results").list_value();
  ASSERT_EQ(results.values_size(), 3);
  const auto& als = results.values(1).struct_value().fields();
  EXPECT_DOUBLE_EQ(als.at("ndcg").number_value(), 0.15);
  EXPECT_DOUBLE_EQ(als.at("ndcg_vs_baseline").number_value(), 1.5);
  EXPECT_EQ(als.at("params").struct_value().fields().at("factors").string_value(), "32");
  EXPECT_THAT(results.values(2).struct_value().fields().at("skipped").string_value(), HasSubstr("metadata"));
  EXPECT_EQ(JsonNumber(0.0 / 0.0), "null");
}

}  // namespace
}  // namespace marketlens::recommender
