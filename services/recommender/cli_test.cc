// The CLI end to end on files it generates: generate -> evaluate (explicit files, splits, table, JSON,
// tuning) -> train; and clear usage errors.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/protobuf_status_matchers.h"
#include "common/testing/real_data.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/recommender/bundle/bundle.h"
#include "services/recommender/cli_test_runner.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;

std::string Tmp(const std::string& name) { return std::string(std::getenv("TEST_TMPDIR")) + "/" + name; }

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    CliRun g = Cli({"generate", "--output", Tmp("all.data"), "--items_output", Tmp("items.tsv"), "--users",
                    "300", "--items", "100", "--clusters", "5", "--events_per_user", "15", "--seed", "3"});
    ASSERT_EQ(g.code, 0) << g.err;
    CliRun tr = Cli({"generate", "--output", Tmp("train.data"), "--users", "300", "--items", "100",
                     "--clusters", "5", "--events_per_user", "15", "--seed", "4"});
    ASSERT_EQ(tr.code, 0) << tr.err;
    CliRun te = Cli({"generate", "--output", Tmp("test.data"), "--users", "300", "--items", "100",
                     "--clusters", "5", "--events_per_user", "3", "--seed", "5"});
    ASSERT_EQ(te.code, 0) << te.err;
  }
};

TEST_F(CliTest, EvaluateExplicitFilesAsJson) {
  CliRun r =
      Cli({"evaluate", "--train", Tmp("train.data"), "--test", Tmp("test.data"), "--k", "10", "--json",
           "--algorithms", "item_knn,als", "--params", "als.factors=16,als.iterations=5", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  google::protobuf::Struct json;
  ASSERT_THAT(google::protobuf::util::JsonStringToMessage(r.out, &json), IsOk()) << r.out;
  EXPECT_EQ(json.fields().at("protocol").string_value(), "explicit train/test files");
  const auto& results = json.fields().at("results").list_value();
  ASSERT_EQ(results.values_size(), 3);  // the popularity baseline is always added, first
  EXPECT_EQ(results.values(0).struct_value().fields().at("algorithm").string_value(), "popularity");
  const auto& als = results.values(2).struct_value().fields();
  EXPECT_EQ(als.at("params").struct_value().fields().at("factors").string_value(), "16");
  for (const char* m : {"precision", "recall", "ndcg", "map", "coverage", "diversity", "novelty"}) {
    EXPECT_TRUE(als.count(m)) << m;
  }
  // Same seeds -> same clusters in train and test files: personalised beats popular.
  EXPECT_GT(als.at("ndcg_vs_baseline").number_value(), 1.2);
}

TEST_F(CliTest, EvaluateOneFileWithSplitsAsTable) {
  CliRun r =
      Cli({"evaluate", "--input", Tmp("all.data"), "--split", "temporal", "--leave_last", "2", "--items",
           Tmp("items.tsv"), "--algorithms", "popularity,content,copurchase,ease", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("protocol: temporal leave-last-2 per user"));
  EXPECT_THAT(r.out, HasSubstr("NDCG@10"));
  EXPECT_THAT(r.out, HasSubstr("content"));
  EXPECT_THAT(r.out, HasSubstr("baseline"));
  CliRun random = Cli({"evaluate", "--input", Tmp("all.data"), "--split", "random", "--test_fraction", "0.25",
                       "--algorithms", "item_knn_bm25", "--k", "5"});
  ASSERT_EQ(random.code, 0) << random.err;
  EXPECT_THAT(random.out, HasSubstr("random 25% per user"));
  EXPECT_THAT(random.out, HasSubstr("P@5"));
}

TEST_F(CliTest, EvaluateWithTuning) {
  CliRun r = Cli({"evaluate", "--input", Tmp("all.data"), "--algorithms", "item_knn", "--tune",
                  "--tune_trials", "3", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  google::protobuf::Struct json;
  ASSERT_THAT(google::protobuf::util::JsonStringToMessage(r.out, &json), IsOk()) << r.out;
  const auto& knn = json.fields().at("results").list_value().values(1).struct_value().fields();
  // Successive halving: 3 candidates at a third of the validation users, then the best at full fidelity.
  EXPECT_EQ(knn.at("tuning").struct_value().fields().at("trials").number_value(), 4);
}

// The neural models and the learned hybrid in the same table, on real Amazon 5-core ratings.
TEST_F(CliTest, EvaluatesNeuralModelsAndTheLearnedHybridOnRealData) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "amazon-5core/Gift_Cards_5.json");
  CliRun r = Cli({"evaluate", "--input", path, "--format", "amazon", "--split", "random", "--test_fraction",
                  "0.25", "--min_user_interactions", "2", "--min_item_interactions", "2", "--algorithms",
                  "item_knn,ncf,two_tower,hybrid", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  google::protobuf::Struct json;
  ASSERT_THAT(google::protobuf::util::JsonStringToMessage(r.out, &json), IsOk()) << r.out;
  const auto& results = json.fields().at("results").list_value().values();
  ASSERT_EQ(results.size(), 5);  // popularity (always), item_knn, ncf, two_tower, hybrid
  double popularity = 0;
  for (const auto& v : results) {
    const auto& f = v.struct_value().fields();
    const std::string name = f.at("algorithm").string_value();
    ASSERT_TRUE(f.contains("ndcg")) << name << " was skipped: " << r.out;
    const double ndcg = f.at("ndcg").number_value();
    if (name == "popularity") popularity = ndcg;
    if (name == "ncf" || name == "two_tower" || name == "hybrid") {
      EXPECT_GT(ndcg, popularity) << name;
    }
  }
  EXPECT_THAT(r.out, HasSubstr("\"w_item_knn\""));  // the blend's learned weights are reported
}

// --tune chooses the parameters on a validation split of the input and stores them with the model.
TEST_F(CliTest, TrainWithTuningStoresTheChosenValues) {
  CliRun r = Cli({"train", "--input", Tmp("all.data"), "--algorithm", "item_knn", "--tune", "--output",
                  Tmp("tuned.mlrec"), "--version", "vt"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("tuned item_knn: "));
  std::ifstream in(Tmp("tuned.mlrec"), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto bundle = ParseBundle(bytes.str());
  ASSERT_THAT(bundle, IsOk());
  // The chosen neighbours/shrink come from the search's wide ranges, not the defaults.
  ASSERT_TRUE(bundle->params.count("item_knn.neighbors"));
  ASSERT_TRUE(bundle->params.count("item_knn.shrink"));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("neighbors=", bundle->params.at("item_knn.neighbors"))));
}

TEST_F(CliTest, TrainWritesAnArtifact) {
  CliRun r = Cli({"train", "--input", Tmp("all.data"), "--items", Tmp("items.tsv"), "--output",
                  Tmp("m.mlrec"), "--params", "als.factors=8,als.iterations=4", "--version", "v1", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"version\":\"v1\""));
  EXPECT_THAT(r.out, HasSubstr("\"ndcg@10\""));
  CliRun table =
      Cli({"train", "--input", Tmp("all.data"), "--output", Tmp("m2.mlrec"), "--algorithm", "item_knn"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("(item_knn)"));
  EXPECT_THAT(table.out, HasSubstr("artifact: "));
}

TEST_F(CliTest, UsageErrorsAreClear) {
  EXPECT_EQ(Cli({}).code, 2);
  EXPECT_THAT(Cli({"frobnicate"}).err, HasSubstr("unknown command `frobnicate`"));
  EXPECT_EQ(Cli({"help"}).code, 0);
  CliRun missing = Cli({"evaluate"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("--input"));
  EXPECT_THAT(Cli({"evaluate", "--train", Tmp("train.data")}).err, HasSubstr("--train and --test together"));
  EXPECT_THAT(Cli({"evaluate", "--input", Tmp("all.data"), "--k", "0"}).err, HasSubstr("--k must be"));
  EXPECT_THAT(Cli({"evaluate", "--input", Tmp("all.data"), "--algorithms", "svd"}).err,
              HasSubstr("unknown algorithm `svd`"));
  // A flag no command takes is refused by Abseil's parser, naming it; another command's flag by the CLI.
  CliRun unknown = Cli({"evaluate", "--input", Tmp("all.data"), "--colour", "red"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("Unknown command line flag 'colour'"));
  CliRun other = Cli({"evaluate", "--input", Tmp("all.data"), "--users", "7"});
  EXPECT_EQ(other.code, 2);
  EXPECT_THAT(other.err, HasSubstr("evaluate: unknown flag --users"));
  CliRun bad_value = Cli({"evaluate", "--input", Tmp("all.data"), "--k", "ten"});
  EXPECT_EQ(bad_value.code, 2);
  EXPECT_THAT(bad_value.err, HasSubstr("flag 'k'"));
  EXPECT_THAT(Cli({"evaluate", "--input", Tmp("all.data"), "--split", "sideways"}).err,
              HasSubstr("--split must be"));
  CliRun bad_file = Cli({"evaluate", "--input", "/nonexistent/u.data"});
  EXPECT_EQ(bad_file.code, 1);
  EXPECT_THAT(bad_file.err, HasSubstr("cannot open /nonexistent/u.data"));
  EXPECT_THAT(Cli({"train", "--input", Tmp("all.data")}).err, HasSubstr("--output FILE and/or --register"));
  EXPECT_THAT(Cli({"generate"}).err, HasSubstr("--output FILE is required"));
}

}  // namespace
}  // namespace marketlens::recommender
