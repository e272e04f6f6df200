// Real behaviour of the rule scorer and the engine on hand-written sentences: negation flips, contrast
// weighting, intensifiers, emphasis, emoticons, labels, and safe handling of odd input.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/rule_sentiment.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::IsOk;

class SentimentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = Engine::Create();
    ASSERT_THAT(e, IsOk());
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
  ASSERT_EQ(empty.quality_flags.size(), 1u);
  EXPECT_EQ(empty.quality_flags[0].flag, "empty");
  EXPECT_EQ(empty.quality_flags[0].sentence, "");

  Analysis mismatch = engine_->Analyze({.text = "Terrible, awful, worst purchase ever.", .rating = 5});
  EXPECT_TRUE(mismatch.HasFlag("rating_mismatch"));

  Analysis shouting = engine_->Analyze({.text = "THIS IS THE WORST KETTLE EVER MADE"});
  EXPECT_TRUE(shouting.HasFlag("shouting"));
  EXPECT_LT(shouting.sentiment, 0);
}

TEST_F(SentimentTest, HugeAndBinaryInputIsSafe) {
  std::string huge;
  for (int i = 0; i < 200000; ++i) huge += "great ";
  Analysis a = engine_->Analyze({.text = huge});
  EXPECT_GT(a.sentiment, 0.5);
  EXPECT_TRUE(a.HasFlag("truncated"));
  EXPECT_TRUE(a.HasFlag("repetitive"));

  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>((i * 7919) & 0xFF));
  Analysis b = engine_->Analyze({.text = binary});
  EXPECT_GE(b.sentiment, -1);
  EXPECT_LE(b.sentiment, 1);
  EXPECT_TRUE(b.HasFlag("invalid_utf8"));
}

// Every quality flag names the sentence that raised it (hand cases; the flag's rule is in engine.h).
TEST_F(SentimentTest, QualityFlagsCarryTheSentenceThatTriggeredEach) {
  auto sentence = [](const Analysis& a, const std::string& flag) {
    const QualityFlag* f = a.Flag(flag);
    return f == nullptr ? std::string("<not raised>") : f->sentence;
  };
  // Shouting: the sentence with the most words in capitals, not the first or the last.
  Analysis shout = engine_->Analyze(
      {.text = "Bought it in May. THE LID IS CRACKED AND NOBODY ANSWERS MY EMAILS! WHY?? Meh."});
  EXPECT_EQ(sentence(shout, "shouting"), "THE LID IS CRACKED AND NOBODY ANSWERS MY EMAILS!");
  // A link: the whole sentence holding it, although its dots split sentences.
  Analysis link = engine_->Analyze(
      {.text = "Works fine. Cheaper at www.deals-example.com/kettle if you ask me. Boils fast."});
  EXPECT_EQ(sentence(link, "contains_url"), "Cheaper at www.deals-example.com/kettle if you ask me.");
  Analysis https = engine_->Analyze({.text = "See https://example.org/x for my video. Good kettle."});
  EXPECT_EQ(sentence(https, "contains_url"), "See https://example.org/x for my video.");
  // A rating the text contradicts: the sentence that contradicts it most, either way.
  Analysis panned = engine_->Analyze({.text = "Arrived on Tuesday. The handle is horrible and the lid is "
                                              "useless, worst kettle ever. It is blue.",
                                      .rating = 5});
  EXPECT_EQ(sentence(panned, "rating_mismatch"),
            "The handle is horrible and the lid is useless, worst kettle ever.");
  Analysis praised = engine_->Analyze(
      {.text = "It is blue. Absolutely love it, the best kettle I have ever owned! Great value.",
       .rating = 1});
  EXPECT_EQ(sentence(praised, "rating_mismatch"), "Absolutely love it, the best kettle I have ever owned!");
  EXPECT_FALSE(engine_->Analyze({.text = "Absolutely love it, best kettle ever!", .rating = 5})
                   .HasFlag("rating_mismatch"));
  // Copy-paste filler: the sentence that repeats what was said before it.
  Analysis spam = engine_->Analyze(
      {.text = "Nice kettle overall. good good good good good good good good good good good good good."});
  EXPECT_EQ(sentence(spam, "repetitive"),
            "good good good good good good good good good good good good good.");
  // Too short: the text itself; empty: nothing to quote.
  EXPECT_EQ(sentence(engine_->Analyze({.text = "  Meh, ok.  "}), "too_short"), "Meh, ok.");
  EXPECT_EQ(sentence(engine_->Analyze({.text = " ... "}), "empty"), "");
  // Bytes that are not UTF-8: the (repaired) sentence holding the first of them.
  Analysis bad = engine_->Analyze({.text = "Fine kettle. The lid \xff\xfe broke off. Still boils."});
  EXPECT_EQ(sentence(bad, "invalid_utf8"), "The lid \xEF\xBF\xBD\xEF\xBF\xBD broke off.");
  // Truncated: the last sentence analysed, where the cut fell.
  std::string longer = "The kettle is fine. ";
  while (longer.size() < 40 * 1024) longer += "It boils water quickly and quietly. ";
  Analysis cut = engine_->Analyze({.text = longer});
  ASSERT_TRUE(cut.HasFlag("truncated"));
  EXPECT_TRUE(absl::StartsWith("It boils water quickly and quietly.", sentence(cut, "truncated")))
      << sentence(cut, "truncated");
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
