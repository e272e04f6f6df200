#include "services/analyzer/engine/tokenizer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace marketlens::analyzer {
namespace {

std::vector<std::string> Words(const TokenizedText& t) {
  std::vector<std::string> out;
  for (const Token& tok : t.tokens) out.emplace_back(tok.lower);
  return out;
}

TEST(TokenizerTest, SentencesWordsAndOffsets) {
  TokenizedText t;
  Tokenize("The Battery is GREAT!! But the case broke, sadly.\nSecond line", {}, &t);
  ASSERT_EQ(t.sentences.size(), 3u);
  EXPECT_EQ(t.SentenceText(t.sentences[0]), "The Battery is GREAT!!");
  EXPECT_EQ(t.sentences[0].exclamations, 2);
  EXPECT_EQ(t.SentenceText(t.sentences[1]), "But the case broke, sadly.");
  EXPECT_EQ(t.SentenceText(t.sentences[2]), "Second line");
  EXPECT_EQ(Words(t), (std::vector<std::string>{"the", "battery", "is", "great", "but", "the", "case",
                                                "broke", ",", "sadly", "second", "line"}));
  EXPECT_TRUE(t.tokens[3].all_caps);
  EXPECT_FALSE(t.tokens[1].all_caps);
  EXPECT_EQ(t.Span(t.tokens[1].begin, t.tokens[1].end), "Battery");  // original case kept for quotes
  EXPECT_EQ(t.tokens[8].kind, TokenKind::kPunct);
}

TEST(TokenizerTest, ContractionsTypographicApostrophesAndDecimals) {
  TokenizedText t;
  Tokenize("I don\xE2\x80\x99t like it, dont buy. Rated 4.5 stars", {}, &t);
  EXPECT_EQ(Words(t), (std::vector<std::string>{"i", "don't", "like", "it", ",", "dont", "buy", "rated",
                                                "4.5", "stars"}));
  EXPECT_TRUE(IsNegator("don't"));
  EXPECT_TRUE(IsNegator("dont"));
  EXPECT_TRUE(IsNegator("without"));
  EXPECT_FALSE(IsNegator("donut"));
}

TEST(TokenizerTest, EmoticonsStandingAloneAndEmoji) {
  absl::flat_hash_set<std::string> emoticons = {":)", ":-(", "<3"};
  TokenizerOptions o;
  o.emoticons = &emoticons;
  TokenizedText t;
  Tokenize("love it :) <3 but meh :-( \xF0\x9F\x91\x8D", o, &t);
  int emoticon = 0, emoji = 0;
  for (const Token& tok : t.tokens) {
    emoticon += tok.kind == TokenKind::kEmoticon;
    if (tok.kind == TokenKind::kEmoji) {
      ++emoji;
      EXPECT_EQ(tok.codepoint, 0x1F44Du);
    }
  }
  EXPECT_EQ(emoticon, 3);
  EXPECT_EQ(emoji, 1);
}

TEST(TokenizerTest, InvalidUtf8IsRepairedAndFlagged) {
  TokenizedText t;
  const std::string bad =
      std::string("caf\xC3\xA9 ok \xFF\xFE broken \xE2\x82 end") + std::string(1, '\0') + "x";
  Tokenize(bad, {}, &t);
  EXPECT_TRUE(t.invalid_utf8);
  // The repaired text is valid UTF-8: every bad byte became U+FFFD, NUL became a space.
  EXPECT_EQ(t.text.find('\0'), std::string::npos);
  EXPECT_NE(t.text.find("\xEF\xBF\xBD"), std::string::npos);
  std::vector<std::string> words = Words(t);
  EXPECT_EQ(words.front(), "caf\xC3\xA9");
  EXPECT_EQ(words.back(), "x");
}

TEST(TokenizerTest, OverlongAndSurrogateSequencesAreInvalid) {
  bool invalid, truncated;
  RepairUtf8("\xC0\xAF", 100, &invalid, &truncated);  // overlong "/"
  EXPECT_TRUE(invalid);
  RepairUtf8("\xED\xA0\x80", 100, &invalid, &truncated);  // surrogate
  EXPECT_TRUE(invalid);
  EXPECT_EQ(RepairUtf8("ok \xE2\x9C\x93", 100, &invalid, &truncated), "ok \xE2\x9C\x93");
  EXPECT_FALSE(invalid);
}

TEST(TokenizerTest, HugeInputIsCutAtACharacterBoundary) {
  std::string huge;
  for (int i = 0; i < 100000; ++i) huge += "\xC3\xA9t\xC3\xA9 ";  // 2-byte characters
  TokenizerOptions o;
  o.max_bytes = 1001;
  TokenizedText t;
  Tokenize(huge, o, &t);
  EXPECT_TRUE(t.truncated);
  EXPECT_LE(t.text.size(), 1001u);
  bool invalid, truncated;
  RepairUtf8(t.text, 5000, &invalid, &truncated);
  EXPECT_FALSE(invalid);  // never cut inside a character
}

TEST(TokenizerTest, EmptyAndPunctuationOnly) {
  TokenizedText t;
  Tokenize("", {}, &t);
  EXPECT_TRUE(t.tokens.empty());
  EXPECT_TRUE(t.sentences.empty());
  Tokenize("... !!! ???", {}, &t);
  EXPECT_EQ(t.words, 0);
}

}  // namespace
}  // namespace marketlens::analyzer
