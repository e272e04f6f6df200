#include "services/marketplace/text_generator.h"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/marketplace/vocabulary.h"

namespace marketlens::marketplace {
namespace {

const CategorySpec& Category(absl::string_view name) {
  for (const auto& c : Categories()) {
    if (c.name == name) return c;
  }
  ADD_FAILURE() << "no category " << name;
  return Categories().front();
}

TEST(VocabularyTest, HasAtLeastTenCategoriesWithKnownAspectsAndIssues) {
  EXPECT_GE(Categories().size(), 10u);
  for (const auto& c : Categories()) {
    EXPECT_FALSE(c.kinds.empty()) << c.name;
    EXPECT_GE(c.brands.size(), 4u) << c.name;
    EXPECT_LT(c.price_min_cents, c.price_max_cents) << c.name;
    for (const auto& a : c.aspects) EXPECT_NE(FindAspect(a), nullptr) << c.name << " " << a;
    for (const auto& i : c.issues) EXPECT_NE(FindIssue(i), nullptr) << c.name << " " << i;
    for (const auto& k : c.kinds) {
      for (const auto& a : AspectsOf(c, k)) EXPECT_NE(FindAspect(a), nullptr) << k.noun << " " << a;
    }
  }
  for (const auto& a : UniversalAspects()) EXPECT_NE(FindAspect(a), nullptr) << a;
  for (const auto& a : Aspects()) {
    EXPECT_FALSE(a.good.empty()) << a.name;
    EXPECT_FALSE(a.bad.empty()) << a.name;
  }
  for (const auto& cl : Clusters()) {
    for (const auto& [cat, w] : cl.category_weights) {
      bool found = false;
      for (const auto& c : Categories()) found |= c.name == cat;
      EXPECT_TRUE(found) << cl.name << " " << cat;
    }
  }
}

TEST(TextGeneratorTest, FillsPlaceholdersWithAgreement) {
  Rng rng = MakeRng(1, 1);
  ProductKind singular{"kettle", false, "Kettle", {}, {"lid"}, {"for tea"}};
  ProductKind plural{"earbuds", true, "Earbuds", {}, {"charging case"}, {"for the gym"}};
  EXPECT_EQ(FillPlaceholders("{it} {is} great and {it} {does}n't leak, I love {obj}", singular, rng),
            "it is great and it doesn't leak, I love it");
  EXPECT_EQ(FillPlaceholders("{it} {is} great and {it} {does}n't leak, I love {obj}", plural, rng),
            "they are great and they don't leak, I love them");
  EXPECT_EQ(FillPlaceholders("the {part} broke, {noun} {use}", plural, rng),
            "the charging case broke, earbuds for the gym");
}

TEST(TextGeneratorTest, NoPlaceholderSurvivesAnyTemplate) {
  Rng rng = MakeRng(7, 7);
  for (const auto& c : Categories()) {
    for (const auto& kind : c.kinds) {
      for (const auto& a : Aspects()) {
        for (const auto& t : a.good)
          EXPECT_EQ(FillPlaceholders(t, kind, rng).find('{'), std::string::npos) << t;
        for (const auto& t : a.bad)
          EXPECT_EQ(FillPlaceholders(t, kind, rng).find('{'), std::string::npos) << t;
      }
      for (const auto& i : Issues()) {
        for (const auto& t : i.phrases)
          EXPECT_EQ(FillPlaceholders(t, kind, rng).find('{'), std::string::npos) << t;
        for (const auto& t : i.titles)
          EXPECT_EQ(FillPlaceholders(t, kind, rng).find('{'), std::string::npos) << t;
      }
    }
  }
}

TEST(TextGeneratorTest, ReviewsAreVariedAndMentionTheirPlan) {
  const CategorySpec& electronics = Category("Electronics");
  const ProductKind& earbuds = electronics.kinds[0];
  Rng rng = MakeRng(42, 3);
  std::set<std::string> texts, titles;
  int mentions_battery = 0, lowercase_only = 0, mixed_joined = 0;
  const int n = 400;
  for (int i = 0; i < n; ++i) {
    ReviewPlan plan;
    plan.category = &electronics;
    plan.kind = &earbuds;
    plan.rating = 1 + i % 5;
    plan.aspects = {{FindAspect("battery"), i % 2 == 0 ? 1 : -1}, {FindAspect("sound"), i % 2 == 0 ? -1 : 1}};
    ReviewText r = WriteReview(plan, rng);
    ASSERT_FALSE(r.text.empty());
    ASSERT_FALSE(r.title.empty());
    EXPECT_EQ(r.text.find('{'), std::string::npos) << r.text;
    texts.insert(r.text);
    titles.insert(r.title);
    const std::string lower = absl::AsciiStrToLower(r.text);
    if (absl::StrContains(lower, "batt") || absl::StrContains(lower, "charge") ||
        absl::StrContains(lower, "juice")) {
      ++mentions_battery;
    }
    if (lower == r.text) ++lowercase_only;
    if (absl::StrContains(lower, " but ") || absl::StrContains(lower, "although") ||
        absl::StrContains(lower, "that said") || absl::StrContains(lower, "other hand")) {
      ++mixed_joined;
    }
  }
  EXPECT_GE(texts.size(), static_cast<size_t>(n * 97 / 100));  // hardly two alike ("Love it!" happens)
  EXPECT_GT(titles.size(), 30u);
  EXPECT_GT(mentions_battery, n * 7 / 10);
  EXPECT_GT(lowercase_only, n / 20);  // some sloppy writers
  EXPECT_GT(mixed_joined, n / 5);     // mixed opinions often share a sentence
  if (getenv("PRINT_SAMPLES") != nullptr) {
    int k = 0;
    for (const auto& t : texts) {
      if (k++ % 20 == 0) printf("%s\n---\n", t.c_str());
    }
  }
}

TEST(TextGeneratorTest, IssueReviewsMentionTheIssue) {
  const CategorySpec& automotive = Category("Automotive");
  const ProductKind* mount = nullptr;
  for (const auto& k : automotive.kinds) {
    if (k.noun == "phone mount") mount = &k;
  }
  ASSERT_NE(mount, nullptr);
  Rng rng = MakeRng(5, 5);
  int found = 0;
  for (int i = 0; i < 100; ++i) {
    ReviewPlan plan{&automotive, mount, 1, {}, {FindIssue("broke_quickly")}};
    ReviewText r = WriteReview(plan, rng);
    const std::string lower = absl::AsciiStrToLower(r.text + " " + r.title);
    if (absl::StrContains(lower, "broke") || absl::StrContains(lower, "snapped") ||
        absl::StrContains(lower, "fell apart") || absl::StrContains(lower, "cracked") ||
        absl::StrContains(lower, "broken") || absl::StrContains(lower, "didn't last") ||
        absl::StrContains(lower, "cheaply made")) {
      ++found;
    }
  }
  EXPECT_GE(found, 90);
}

TEST(TextGeneratorTest, TyposChangeSomeWordsOnly) {
  Rng rng = MakeRng(9, 9);
  const std::string text = "the battery definitely lasts longer than expected and the sound is clear";
  EXPECT_EQ(AddTypos(text, 0, rng), text);
  int changed = 0;
  for (int i = 0; i < 50; ++i) changed += AddTypos(text, 0.2, rng) != text;
  EXPECT_GT(changed, 25);
  EXPECT_NE(AddTypos(text, 1.0, rng), text);
}

TEST(TextGeneratorTest, ContactNotesAndDescriptions) {
  const CategorySpec& electronics = Category("Electronics");
  Rng rng = MakeRng(3, 3);
  ContactPlan plan{
      "call", "warranty claim", "Mia", "Voltix earbuds", &electronics.kinds[0], FindIssue("stopped_working"),
      -0.7};
  const std::string notes = WriteContactNotes(plan, rng);
  EXPECT_TRUE(absl::StrContains(notes, "Voltix earbuds")) << notes;
  EXPECT_EQ(notes.find('{'), std::string::npos);
  const std::string desc =
      WriteDescription(electronics, electronics.kinds[0], "Voltix", {"Bluetooth 5.3"}, {"battery"}, rng);
  EXPECT_TRUE(absl::StrContains(desc, "Voltix Wireless Earbuds")) << desc;
}

}  // namespace
}  // namespace marketlens::marketplace
