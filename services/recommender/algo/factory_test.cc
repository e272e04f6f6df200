#include "services/recommender/algo/factory.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/recommender/algo/hybrid.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;

TEST(FactoryTest, EveryNameBuildsAndFits) {
  SyntheticData s =
      GenerateSynthetic({.users = 60, .items = 40, .clusters = 4, .events_per_user = 8, .shop_events = true});
  TrainingData d = BuildTrainingData(s.log, {}, &s.catalog);
  for (const std::string& name : AlgorithmNames()) {
    Params p;
    if (name == "als" || name == "hybrid") p[name == "als" ? "iterations" : "als.iterations"] = "2";
    auto m = MakeModel(name, p, 1);
    ASSERT_THAT(m, IsOk()) << name << ": " << m.status();
    EXPECT_EQ((*m)->name(), name);
    ASSERT_THAT((*m)->Fit(d), IsOk()) << name;
    EXPECT_EQ((*m)->num_items(), d.num_items()) << name;
    std::vector<float> scores(d.num_items());
    (*m)->Score(0, HistoryOf(d, 0), absl::MakeSpan(scores));
  }
}

TEST(FactoryTest, ParamsAreCheckedAndPassedToMembers) {
  EXPECT_THAT(MakeModel("nope").status().message(), HasSubstr("unknown algorithm `nope`"));
  EXPECT_THAT(MakeModel("als", {{"factor", "3"}}).status().message(),
              HasSubstr("unknown parameter `factor`"));
  EXPECT_THAT(MakeModel("als", {{"factors", "many"}}).status().message(), HasSubstr("factors=`many`"));
  EXPECT_THAT(MakeModel("copurchase", {{"basket", "cart"}}).status().message(), HasSubstr("basket must be"));
  auto h = MakeModel("hybrid", {{"w_content", "0"}, {"w_popularity", "0"}, {"als.factors", "4"}});
  ASSERT_THAT(h, IsOk());
  auto* hybrid = static_cast<HybridModel*>(h->get());
  ASSERT_EQ(hybrid->members().size(), 2u);
  EXPECT_EQ(hybrid->members()[0].model->params().at("factors"), "4");
  EXPECT_THAT(MakeModel("hybrid", {{"als.factors", "x"}}).status().message(), HasSubstr("factors"));
}

TEST(FactoryTest, ParseAndFormatParams) {
  auto p = ParseParams("factors=64, alpha = 2");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->at("alpha"), "2");
  EXPECT_EQ(FormatParams(*p), "alpha=2,factors=64");
  EXPECT_FALSE(ParseParams("factors").ok());
  EXPECT_TRUE(ParseParams("")->empty());
}

}  // namespace
}  // namespace marketlens::recommender
