// Real behaviour of the rule scorer and the engine on hand-written sentences: negation flips, contrast
// weighting, intensifiers, emphasis, emoticons, labels, and safe handling of odd input.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/rule_sentiment.h"

namespace marketlens::analyzer {
namespace {

class SentimentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = Engine::Create();
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = e->release();
  }
  static void TearDownTestSuite() { delete engine_; }
  static double Score(const std::string& text) { return engine_->Analyze({.text = text}).sentiment; }
  static Engine* engine_;
};
Engine* SentimentTest::engine_ = nullptr;

TEST_F(SentimentTest, LexiconIsTheVaderOne) {
  EXPECT_GT(engine_->lexicon().size(), 7000u);
  EXPECT_DOUBLE_EQ(engine_->lexicon().Valence("great"), 3.1);
  EXPECT_DOUBLE_EQ(engine_->lexicon().EmoticonValence(":)"), 2.0);
}

TEST_F(SentimentTest, PolarityOfPlainSentences) {
  EXPECT_GT(Score("This blender is great."), 0.4);
  EXPECT_LT(Score("This blender is terrible."), -0.3);
  EXPECT_EQ(Score("The blender is blue."), 0);
}

TEST_F(SentimentTest, NegationFlipsAndDamps) {
  const double great = Score("The sound is great.");
  const double not_great = Score("The sound is not great.");
  EXPECT_GT(great, 0);
  EXPECT_LT(not_great, 0);
  EXPECT_LT(std::abs(not_great), std::abs(great));  // damped, not mirrored
  EXPECT_GT(Score("Not bad at all."), 0);
  EXPECT_GT(Score("No complaints about the battery."), 0);
  EXPECT_LT(Score("I don't love it."), 0);
  EXPECT_LT(Score("I dont love it."), 0);  // sloppy writers drop apostrophes
  EXPECT_GT(Score("The seller sent a replacement without any hassle."), 0);
  // Negation reaches three words back, not further, and stops at a comma.
  EXPECT_LT(Score("It is not a very good kettle."), 0);
  EXPECT_GT(Score("Not what I expected, it is good."), 0);
}

TEST_F(SentimentTest, ContrastWeighsTheClauseAfterBut) {
  // Same two opinions in both orders: the one after "but" decides.
  EXPECT_LT(Score("The screen is great but the battery is awful."), 0);
  EXPECT_GT(Score("The battery is awful but the screen is great."), 0);
  EXPECT_GT(Score("The battery is awful. But honestly the screen is great."), 0);
  EXPECT_LT(Score("Although the screen is great, the battery is awful."), 0);
}

TEST_F(SentimentTest, IntensifiersDiminishersAndEmphasis) {
  const double good = Score("The kettle is good.");
  EXPECT_GT(Score("The kettle is very good."), good);
  EXPECT_LT(Score("The kettle is slightly good."), good);
  EXPECT_GT(Score("The kettle is GOOD."), good);
  EXPECT_GT(Score("The kettle is good!!!"), good);
  EXPECT_LT(Score("The kettle is extremely bad."), Score("The kettle is bad."));
}

TEST_F(SentimentTest, EmoticonsAndEmoji) {
  EXPECT_GT(Score("arrived today :)"), 0);
  EXPECT_LT(Score("arrived today :("), 0);
  EXPECT_GT(Score("arrived today \xF0\x9F\x98\x8D"), 0);
  EXPECT_LT(Score("arrived today \xF0\x9F\x91\x8E"), 0);
}

TEST_F(SentimentTest, PrepositionLikeIsNotPraise) {
  EXPECT_EQ(Score("It looks like a phone."), 0);
  EXPECT_GT(Score("I like it."), 0);
}

TEST_F(SentimentTest, LabelsAndQualityFlags) {
  EXPECT_EQ(engine_->Analyze({.text = "Absolutely love it, works perfectly."}).label, "positive");
  EXPECT_EQ(engine_->Analyze({.text = "Horrible, broke on day one. Waste of money."}).label, "negative");
  EXPECT_EQ(engine_->Analyze({.text = "It is a kettle that boils water."}).label, "neutral");

  Analysis empty = engine_->Analyze({.text = ""});
  EXPECT_EQ(empty.sentiment, 0);
  EXPECT_EQ(empty.label, "neutral");
  EXPECT_EQ(empty.quality_flags, std::vector<std::string>{"empty"});

  Analysis mismatch = engine_->Analyze({.text = "Terrible, awful, worst purchase ever.", .rating = 5});
  EXPECT_NE(std::find(mismatch.quality_flags.begin(), mismatch.quality_flags.end(), "rating_mismatch"),
            mismatch.quality_flags.end());

  Analysis shouting = engine_->Analyze({.text = "THIS IS THE WORST KETTLE EVER MADE"});
  EXPECT_NE(std::find(shouting.quality_flags.begin(), shouting.quality_flags.end(), "shouting"),
            shouting.quality_flags.end());
  EXPECT_LT(shouting.sentiment, 0);
}

TEST_F(SentimentTest, HugeAndBinaryInputIsSafe) {
  std::string huge;
  for (int i = 0; i < 200000; ++i) huge += "great ";
  Analysis a = engine_->Analyze({.text = huge});
  EXPECT_GT(a.sentiment, 0.5);
  EXPECT_NE(std::find(a.quality_flags.begin(), a.quality_flags.end(), "truncated"), a.quality_flags.end());
  EXPECT_NE(std::find(a.quality_flags.begin(), a.quality_flags.end(), "repetitive"), a.quality_flags.end());

  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>((i * 7919) & 0xFF));
  Analysis b = engine_->Analyze({.text = binary});
  EXPECT_GE(b.sentiment, -1);
  EXPECT_LE(b.sentiment, 1);
  EXPECT_NE(std::find(b.quality_flags.begin(), b.quality_flags.end(), "invalid_utf8"), b.quality_flags.end());
}

TEST_F(SentimentTest, TitleCountsAsASentence) {
  Analysis a = engine_->Analyze({.title = "Awful", .text = "It is a kettle."});
  EXPECT_LT(a.sentiment, 0);
}

TEST(SquashTest, BoundedAndMonotonic) {
  EXPECT_EQ(Squash(0), 0);
  EXPECT_LT(Squash(100), 1);
  EXPECT_GT(Squash(-100), -1);
  EXPECT_LT(Squash(1), Squash(2));
}

}  // namespace
}  // namespace marketlens::analyzer
