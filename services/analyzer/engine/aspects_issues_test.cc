// Aspects (taxonomy + discovered terms) with polarity, and issue categories with their triggering sentence,
// on hand-written reviews.
#include <algorithm>
#include <memory>
#include <string>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/engine/aspects.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/issues.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::IsOk;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = Engine::Create();
    ASSERT_THAT(e, IsOk());
    engine_ = e->release();
  }
  static void TearDownTestSuite() { delete engine_; }
  static Analysis Run(const std::string& text, const std::string& category = "") {
    return engine_->Analyze({.text = text, .category = category});
  }
  static const AspectMention* Aspect(const Analysis& a, const std::string& name) {
    for (const auto& m : a.aspects) {
      if (m.aspect == name) return &m;
    }
    return nullptr;
  }
  static const IssueFlag* Issue(const Analysis& a, const std::string& category) {
    for (const auto& i : a.issues) {
      if (i.category == category) return &i;
    }
    return nullptr;
  }
  static Engine* engine_;
};
Engine* EngineTest::engine_ = nullptr;

TEST_F(EngineTest, AspectsWithTheirOwnPolarity) {
  Analysis a =
      Run("The battery life is fantastic, but the sound is tinny and awful. Bluetooth pairing works.",
          "Electronics");
  const AspectMention* battery = Aspect(a, "battery");
  const AspectMention* sound = Aspect(a, "sound");
  ASSERT_NE(battery, nullptr);
  ASSERT_NE(sound, nullptr);
  EXPECT_GT(battery->polarity, 0.2);
  EXPECT_LT(sound->polarity, -0.2);
  EXPECT_EQ(battery->quote, "The battery life is fantastic, but the sound is tinny and awful.");
  EXPECT_NE(Aspect(a, "connectivity"), nullptr);
}

TEST_F(EngineTest, CategoryPicksTheTaxonomyAndPluralsMatch) {
  // "fit" is a Clothing aspect; "batteries" matches "battery".
  EXPECT_NE(Aspect(Run("The fit is perfect.", "Clothing"), "fit"), nullptr);
  EXPECT_NE(Aspect(Run("The batteries died fast.", "Electronics"), "battery"), nullptr);
  // Universal aspects everywhere.
  EXPECT_NE(Aspect(Run("Shipping was slow.", "Books"), "delivery"), nullptr);
  // Unknown category: every section is searched.
  EXPECT_NE(Aspect(Run("The plot is gripping.", "Unheard Of"), "story"), nullptr);
}

TEST_F(EngineTest, NegatedPraiseOfAnAspectIsNegative) {
  Analysis a = Run("The battery is not good at all.", "Electronics");
  ASSERT_NE(Aspect(a, "battery"), nullptr);
  EXPECT_LT(Aspect(a, "battery")->polarity, 0);
}

TEST_F(EngineTest, IssuesWithTheTriggeringSentence) {
  Analysis a = Run("Looked nice at first. It stopped working after two weeks. Also it arrived late.");
  const IssueFlag* defective = Issue(a, "defective");
  ASSERT_NE(defective, nullptr);
  EXPECT_EQ(defective->sentence, "It stopped working after two weeks.");
  ASSERT_NE(Issue(a, "late_delivery"), nullptr);
  EXPECT_EQ(Issue(a, "late_delivery")->sentence, "Also it arrived late.");
}

TEST_F(EngineTest, IssueCategories) {
  EXPECT_NE(Issue(Run("The box was crushed and the lid was cracked when it arrived."), "damaged_in_shipping"),
            nullptr);
  EXPECT_NE(Issue(Run("The handle snapped after a month of normal use."), "durability"), nullptr);
  EXPECT_NE(Issue(Run("Half the screws were missing."), "missing_parts"), nullptr);
  EXPECT_NE(Issue(Run("It runs two sizes small."), "size_fit"), nullptr);
  EXPECT_NE(Issue(Run("They sent the wrong color."), "not_as_described"), nullptr);
  EXPECT_NE(Issue(Run("It stinks of chemicals."), "smell"), nullptr);
  EXPECT_NE(Issue(Run("It gets dangerously hot."), "safety"), nullptr);
  EXPECT_NE(Issue(Run("Customer service never answered my emails."), "customer_service"), nullptr);
  EXPECT_NE(Issue(Run("Way overpriced, not worth the money."), "price_value"), nullptr);
  EXPECT_NE(Issue(Run("The packaging was flimsy and torn."), "packaging"), nullptr);
}

TEST_F(EngineTest, NegatedOrPositiveMentionsAreNotIssues) {
  EXPECT_TRUE(Run("It never stopped working, even after a year.").issues.empty());
  EXPECT_TRUE(Run("No sharp edges, feels safe for little ones.").issues.empty());
  EXPECT_TRUE(Run("Customer service was wonderful and helpful.").issues.empty());
  EXPECT_TRUE(Run("It smells amazing.").issues.empty());
  EXPECT_TRUE(Run("Great value for the price.").issues.empty());
}

TEST_F(EngineTest, OneFlagPerCategory) {
  Analysis a = Run("It stopped working. Then the other one stopped working too.");
  EXPECT_EQ(std::count_if(a.issues.begin(), a.issues.end(),
                          [](const IssueFlag& f) { return f.category == "defective"; }),
            1);
}

TEST(AspectTaxonomyTest, ParseErrorsNameTheLine) {
  EXPECT_EQ(AspectTaxonomy::Parse("battery = battery").status().code(), absl::StatusCode::kInvalidArgument);
  auto s = AspectTaxonomy::Parse("[A]\nok = x\n[broken\n").status();
  EXPECT_NE(s.message().find("line 3"), absl::string_view::npos) << s;
}

TEST(IssueRulesTest, WildcardsAlternativesAndPrefixes) {
  auto rules = IssueRules::Parse("[rust]\nrust*\n[late]\ntook * weeks|forever * arrive\n");
  ASSERT_THAT(rules, IsOk());
  auto find = [&](const std::string& text) {
    TokenizedText t;
    Tokenize(text, {}, &t);
    std::vector<IssueHit> hits;
    rules->Find(
        t, [](uint32_t, uint32_t) { return -1.0; }, &hits);
    std::vector<std::string> out;
    for (const auto& h : hits) out.push_back(h.category);
    return out;
  };
  EXPECT_EQ(find("it rusted quickly"), std::vector<std::string>{"rust"});
  EXPECT_EQ(find("it took almost three weeks to arrive"), std::vector<std::string>{"late"});
  EXPECT_EQ(find("it took one two three four weeks to arrive"), std::vector<std::string>{"late"});
  EXPECT_TRUE(find("it took one two three four five weeks to arrive").empty());  // gap is at most four words
  EXPECT_EQ(IssueRules::Parse("[x]\n* starts with a gap\n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AspectDiscoveryTest, FindsRepeatedlyJudgedNouns) {
  auto tax = AspectTaxonomy::Parse("[Toys]\nfun = fun\n");
  ASSERT_THAT(tax, IsOk());
  AspectDiscoverer d(
      [&](absl::string_view category, absl::string_view term) { return tax->Knows(category, term); });
  const std::vector<std::string> texts = {"The remote control is flimsy.", "My remote control broke.",
                                          "the remote control was great",  "The antenna snapped off.",
                                          "The fun is endless.",           "the antenna is bent"};
  for (int round = 0; round < 3; ++round) {
    for (const auto& text : texts) {
      TokenizedText t;
      Tokenize(text, {}, &t);
      d.Add("Toys", t);
    }
  }
  std::vector<DiscoveredTerm> found = d.Result(/*min_documents=*/5, /*max_per_category=*/10);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].term, "remote control");
  EXPECT_EQ(found[0].documents, 9);
  EXPECT_EQ(found[1].term, "antenna");
  tax->AddDiscovered("Toys", "remote control");
  TokenizedText t;
  Tokenize("The remote controls are bad", {}, &t);
  std::vector<AspectHit> hits;
  tax->Find(t, "Toys", &hits);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].aspect, "remote control");
  EXPECT_TRUE(hits[0].discovered);
}

}  // namespace
}  // namespace marketlens::analyzer
