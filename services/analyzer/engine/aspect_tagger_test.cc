// Aspect terms (aspect_tagger.h): the SemEval XML reader's offsets and errors, the tagger's tokenizer, model
// files, and on real data (../shared/data/semeval2014, common/testing/real_data.h): exact-match F1 on laptop
// sentences the model never saw (a fixed content-hash 20% of Laptop_Train_v2.xml) >= 0.70 and above the
// dictionary baseline of the 2014 task; the restaurant test set; the engine grouping terms by aspect.
#include "services/analyzer/engine/aspect_tagger.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/testing/real_data.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/semeval_xml.h"
#include "services/analyzer/engine/tagged_aspects.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::IsOk;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<AnnotatedSentence> MustParse(const std::string& path) {
  auto parsed = ParseSemEvalXml(ReadFile(path));
  EXPECT_THAT(parsed, IsOk());
  return parsed.ok() ? *std::move(parsed) : std::vector<AnnotatedSentence>{};
}

TEST(SemEvalXml, CharacterOffsetsEntitiesAndErrors) {
  // "\xC2\xA0" is U+00A0: one character, two bytes, so "usb ports" starts at character 8, byte 9.
  const std::string xml =
      "<?xml version=\"1.0\"?>\n<sentences>\n"
      "  <sentence id=\"1\"><text>Its fast\xC2\xA0usb ports &amp; &quot;OS&quot; rock &#233;</text>\n"
      "    <aspectTerms><aspectTerm term=\"usb ports\" polarity=\"positive\"  from=\"9\" to=\"18\"/>\n"
      "      <aspectTerm term=\"&quot;OS&quot;\" polarity=\"neutral\" from=\"21\" to=\"25\"/></aspectTerms>\n"
      "  </sentence>\n  <sentence id=\"2\"><text>No terms here.</text></sentence>\n</sentences>\n";
  auto parsed = ParseSemEvalXml(xml);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->size(), 2u);
  const AnnotatedSentence& s = (*parsed)[0];
  EXPECT_EQ(s.id, "1");
  EXPECT_EQ(s.text, "Its fast\xC2\xA0usb ports & \"OS\" rock \xC3\xA9");
  ASSERT_EQ(s.terms.size(), 2u);
  EXPECT_EQ(s.terms[0].term, "usb ports");
  EXPECT_EQ(s.terms[0].byte_from, 10u);
  EXPECT_EQ(s.terms[0].byte_to, 19u);
  EXPECT_EQ(s.terms[1].term, "\"OS\"");
  EXPECT_EQ(s.terms[1].polarity, "neutral");
  EXPECT_TRUE((*parsed)[1].terms.empty());

  // Offsets that do not cover the term (byte offsets instead of characters), unknown entities, no root.
  std::string shifted = xml;
  shifted.replace(shifted.find("from=\"9\" to=\"18\""), 16, "from=\"10\" to=\"19\"");
  auto bad = ParseSemEvalXml(shifted);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("sentence 1"), std::string::npos) << bad.status();
  EXPECT_FALSE(
      ParseSemEvalXml("<sentences><sentence id=\"1\"><text>a &nbsp; b</text></sentence></sentences>").ok());
  EXPECT_FALSE(ParseSemEvalXml("just text").ok());
  EXPECT_FALSE(ParseSemEvalXml("<sentences><sentence id=\"1\"><text>unterminated").ok());
  EXPECT_FALSE(DecodeXmlEntities("&#xD800;").ok());
  EXPECT_EQ(*DecodeXmlEntities("a&lt;b&gt;c&apos;&#x41;"), "a<b>c'A");
}

TEST(AspectTokenizer, SplitsOnUnicodeSpacesAndTypographicPunctuation) {
  std::vector<TagToken> tokens;
  TokenizeForTagging(
      "Windows\xC2\xA0"
      "8\xE2\x80\x99s Wi-Fi \xE2\x80\x9Cgreat\xE2\x80\x9D caf\xC3\xA9",
      &tokens);
  std::vector<std::string> lower;
  for (const TagToken& t : tokens) lower.push_back(t.lower);
  EXPECT_EQ(lower, (std::vector<std::string>{"windows", "8", "\xE2\x80\x99", "s", "wi", "-", "fi",
                                             "\xE2\x80\x9C", "great", "\xE2\x80\x9D", "caf\xC3\xA9"}));
  EXPECT_EQ(tokens[0].shape, "Xx");
  EXPECT_EQ(tokens[1].begin, 9u);  // after the two-byte no-break space
}

// A tiny corpus written for this test: the tagger learns terms from their contexts, saves and loads.
std::vector<AnnotatedSentence> TinyCorpus() {
  std::vector<AnnotatedSentence> out;
  const char* terms[] = {"keyboard", "screen", "trackpad", "hinge", "fan"};
  const char* frames[][2] = {{"The ", " is great."}, {"I hate the ", "."}, {"Its ", " broke after a week."}};
  for (int k = 0; k < 40; ++k) {
    const std::string term = terms[k % 5];
    const auto& f = frames[k % 3];
    AnnotatedSentence s{absl::StrCat(k), absl::StrCat(f[0], term, f[1]), {}};
    const uint32_t from = static_cast<uint32_t>(std::string(f[0]).size());
    s.terms.push_back({term, k % 3 == 0 ? "positive" : "negative", from,
                       from + static_cast<uint32_t>(term.size()), from,
                       from + static_cast<uint32_t>(term.size())});
    out.push_back(std::move(s));
  }
  out.push_back({"none", "I bought it on Tuesday.", {}});
  return out;
}

TEST(AspectTagger, LearnsSavesAndLoads) {
  AspectTrainReport report;
  auto tagger = AspectTagger::Train(TinyCorpus(), {}, &report);
  ASSERT_THAT(tagger, IsOk());
  EXPECT_EQ(report.sentences, 41);
  EXPECT_EQ(report.terms, 40);
  EXPECT_EQ(report.misaligned_terms, 0);
  // A text with a no-break space before the term: character offsets, not bytes.
  const std::string text = "Honestly,\xC2\xA0the hinge is great.";
  const std::vector<ExtractedTerm> terms = tagger->Extract(text);
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0].term, "hinge");
  EXPECT_EQ(terms[0].from, 14u);
  EXPECT_EQ(terms[0].begin, 15u);
  EXPECT_EQ(terms[0].polarity, "positive");
  EXPECT_GT(terms[0].polarity_score, 0);

  auto loaded = AspectTagger::Load(tagger->Serialize());
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->version(), tagger->version());
  EXPECT_EQ(loaded->Serialize(), tagger->Serialize());
  EXPECT_EQ(loaded->Extract(text)[0].polarity_score, terms[0].polarity_score);

  EXPECT_FALSE(AspectTagger::Load("").ok());
  EXPECT_FALSE(AspectTagger::Load("not a model\n").ok());
  auto truncated = AspectTagger::Load("marketlens-aspect-tagger 1\ncategory\tElectronics\nT\tw=x\t1\n");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("line 3"), std::string::npos) << truncated.status();
  EXPECT_EQ(AspectTagger::Train({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  std::atomic<bool> cancel{true};
  AspectTrainOptions cancelled;
  cancelled.cancel = &cancel;
  EXPECT_EQ(AspectTagger::Train(TinyCorpus(), cancelled).status().code(), absl::StatusCode::kCancelled);
}

struct Scored {
  TermScores model, baseline;
  int64_t polarity_gold = 0, polarity_correct = 0;
};

Scored Score(const AspectTagger& tagger, const std::vector<AnnotatedSentence>& train,
             const std::vector<AnnotatedSentence>& test) {
  Scored out;
  const TermDictionaryBaseline baseline(train);
  for (const AnnotatedSentence& s : test) {
    out.model.Add(s.terms, tagger.Extract(s.text));
    out.baseline.Add(s.terms, baseline.Extract(s.text));
    for (const AnnotatedTerm& g : s.terms) {
      ++out.polarity_gold;
      out.polarity_correct += tagger.Classify(s.text, g.byte_from, g.byte_to).polarity == g.polarity;
    }
  }
  return out;
}

// One model on 80% of the laptop sentences, shared by the tests below.
const AspectTagger* LaptopTagger(const std::vector<AnnotatedSentence>& train) {
  static const AspectTagger* tagger = [&] {
    auto t = AspectTagger::Train(train);
    EXPECT_THAT(t, IsOk());
    return t.ok() ? new AspectTagger(*std::move(t)) : nullptr;
  }();
  return tagger;
}

void SplitLaptops(const std::string& path, std::vector<AnnotatedSentence>* train,
                  std::vector<AnnotatedSentence>* held_out) {
  for (AnnotatedSentence& s : MustParse(path)) (InHeldOutFold(s.text, 0, 5) ? held_out : train)->push_back(s);
}

TEST(AspectTaggerRealData, LaptopHeldOutF1) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "semeval2014/Laptop_Train_v2.xml");
  std::vector<AnnotatedSentence> train, held_out;
  SplitLaptops(path, &train, &held_out);
  ASSERT_EQ(train.size() + held_out.size(), 3045u);
  ASSERT_GT(held_out.size(), 500u);
  const AspectTagger* tagger = LaptopTagger(train);
  ASSERT_NE(tagger, nullptr);
  const Scored s = Score(*tagger, train, held_out);
  std::printf(
      "laptops held out (%zu sentences, %ld terms): P %.3f R %.3f F1 %.3f; dictionary baseline F1 %.3f; "
      "polarity on gold terms %.3f\n",
      held_out.size(), s.model.gold, s.model.precision(), s.model.recall(), s.model.f1(), s.baseline.f1(),
      double(s.polarity_correct) / s.polarity_gold);
  EXPECT_GE(s.model.f1(), 0.70);
  EXPECT_GT(s.model.f1(), s.baseline.f1() + 0.1);
  // Polarity: well above the majority class (positive, 0.435 of the held-out terms).
  EXPECT_GE(double(s.polarity_correct) / s.polarity_gold, 0.60);
}

TEST(AspectTaggerRealData, RestaurantTestF1) {
  MARKETLENS_REQUIRE_REAL_DATA(train_path, "semeval2014/Restaurants_Train_v2.xml");
  MARKETLENS_REQUIRE_REAL_DATA(test_path, "semeval2014/Restaurants_Test_Gold.xml");
  const std::vector<AnnotatedSentence> train = MustParse(train_path), test = MustParse(test_path);
  ASSERT_EQ(test.size(), 800u);
  AspectTrainOptions options;
  options.category = "";
  auto tagger = AspectTagger::Train(train, options);
  ASSERT_THAT(tagger, IsOk());
  const Scored s = Score(*tagger, train, test);
  std::printf("restaurants test: P %.3f R %.3f F1 %.3f; dictionary baseline F1 %.3f; polarity %.3f\n",
              s.model.precision(), s.model.recall(), s.model.f1(), s.baseline.f1(),
              double(s.polarity_correct) / s.polarity_gold);
  EXPECT_GE(s.model.f1(), 0.70);
  EXPECT_GT(s.model.f1(), s.baseline.f1() + 0.1);
}

TEST(AspectTaggerRealData, EngineGroupsTermsByAspect) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "semeval2014/Laptop_Train_v2.xml");
  std::vector<AnnotatedSentence> train, held_out;
  SplitLaptops(path, &train, &held_out);
  const AspectTagger* tagger = LaptopTagger(train);
  ASSERT_NE(tagger, nullptr);
  auto engine = Engine::Create();
  ASSERT_THAT(engine, IsOk());
  const ReviewInput review{.title = "",
                           .text =
                               "The keyboard is excellent. But the battery life is terrible and the "
                               "battery died twice.",
                           .category = "Electronics"};
  const Analysis before = (*engine)->Analyze(review);
  const std::string rules_version = (*engine)->version();

  (*engine)->SetAspectTagger(std::shared_ptr<const AspectTagger>(tagger, [](const AspectTagger*) {}));
  EXPECT_EQ((*engine)->version(), absl::StrCat(rules_version, "+", tagger->version()));
  const Analysis with = (*engine)->Analyze(review);
  std::map<std::string, const AspectMention*> by_aspect;
  for (const AspectMention& m : with.aspects) by_aspect[m.aspect] = &m;
  ASSERT_TRUE(by_aspect.contains("keyboard")) << "the taxonomy has no keyboard; the tagger finds it";
  // Positive beyond the engine's label threshold (0.2; the polarity is P(positive) - P(negative)).
  EXPECT_GT(by_aspect["keyboard"]->polarity, 0.2);
  EXPECT_TRUE(by_aspect["keyboard"]->discovered);
  EXPECT_EQ(by_aspect["keyboard"]->quote, "The keyboard is excellent.");
  // "battery life" and "battery" are one taxonomy aspect.
  ASSERT_TRUE(by_aspect.contains("battery"));
  EXPECT_LT(by_aspect["battery"]->polarity, -0.2);
  EXPECT_FALSE(by_aspect["battery"]->discovered);
  EXPECT_EQ(with.aspects.size(), 2u);
  EXPECT_EQ(with.sentiment, before.sentiment);  // the tagger only changes aspects

  (*engine)->SetAspectTagger(nullptr);
  const Analysis after = (*engine)->Analyze(review);
  ASSERT_EQ(after.aspects.size(), before.aspects.size());
  for (size_t i = 0; i < after.aspects.size(); ++i) {
    EXPECT_EQ(after.aspects[i].aspect, before.aspects[i].aspect);
    EXPECT_EQ(after.aspects[i].polarity, before.aspects[i].polarity);
  }
  EXPECT_EQ((*engine)->version(), rules_version);

  bool discovered = false;
  EXPECT_EQ(AspectForTerm(*(*engine)->taxonomy(), "Electronics", "screen resolution", &discovered), "screen");
  EXPECT_FALSE(discovered);
  EXPECT_EQ(AspectForTerm(*(*engine)->taxonomy(), "Electronics", "Windows 8", &discovered), "windows 8");
  EXPECT_TRUE(discovered);
}

}  // namespace
}  // namespace marketlens::analyzer
