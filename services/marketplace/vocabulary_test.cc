#include "services/marketplace/vocabulary.h"

#include <string>

#include "absl/status/status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketlens::marketplace {
namespace {

using ::marketlens::testing::IsOk;
using ::marketlens::testing::StatusIs;
using ::testing::HasSubstr;

// The embedded vocabulary with one textual change (which must apply exactly once).
std::string Edited(const std::string& from, const std::string& to) {
  std::string text(VocabularyText());
  int count = 0;
  for (size_t p = text.find(from); p != std::string::npos; p = text.find(from, p + 1)) ++count;
  EXPECT_EQ(count, 1) << from;
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(VocabularyTest, EmbeddedVocabularyIsValidAndComplete) {
  EXPECT_THAT(CheckVocabulary(VocabularyText()), IsOk());
  EXPECT_EQ(Categories().size(), 12u);
  EXPECT_EQ(Clusters().size(), 8u);
  EXPECT_EQ(UniversalAspects().size(), 6u);
  EXPECT_EQ(UniversalAspects().front(), "value");
  ASSERT_NE(FindAspect("battery"), nullptr);
  EXPECT_EQ(FindAspect("battery")->name, "battery");
  EXPECT_EQ(FindAspect("no_such_aspect"), nullptr);
  ASSERT_NE(FindIssue("broke_quickly"), nullptr);
  EXPECT_EQ(FindIssue("broke_quickly")->contact_topic, "warranty claim");
  EXPECT_EQ(Categories().front().name, "Electronics");
  EXPECT_EQ(Categories().front().kinds.front().noun, "earbuds");
  EXPECT_TRUE(Categories().front().kinds.front().plural);
  EXPECT_EQ(TitleSuffixes().size(), 12u);
  EXPECT_EQ(TitleSuffixes().front(), "");  // an empty entry survives the round trip
  EXPECT_DOUBLE_EQ(PlatformReach("tiktok"), 0.45);
  EXPECT_EQ(PurchaseContactTopics().front().first, "order status");
  for (const auto& platform : Platforms()) EXPECT_GT(PlatformReach(platform), 0) << platform;
}

TEST(VocabularyTest, ReportsParseErrorsWithTheirLine) {
  EXPECT_THAT(CheckVocabulary("first_names: \"Ann\"\nno_such_field: 1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(CheckVocabulary("first_names: \"unterminated\n"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(VocabularyTest, RejectsEmptyListsAndUnknownNames) {
  EXPECT_THAT(CheckVocabulary(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is empty")));
  EXPECT_THAT(CheckVocabulary(Edited("universal_aspects: [\"value\"", "universal_aspects: [\"valeu\"")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown aspect \"valeu\"")));
  EXPECT_THAT(CheckVocabulary(Edited("deterioration_issues: [\n  \"stopped_working\"",
                                     "deterioration_issues: [\n  \"stoped_working\"")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown issue \"stoped_working\"")));
  EXPECT_THAT(CheckVocabulary(Edited("name: \"tiktok\"", "name: \"tiktak\"")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("platform \"tiktok\"")));
}

TEST(VocabularyTest, AnotherVocabularyOnlyBeforeFirstUse) {
  EXPECT_THAT(UseVocabulary("first_names: \"Ann\""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UseVocabularyFile("/no/such/vocabulary.textproto"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/no/such/vocabulary.textproto")));
  ASSERT_FALSE(Categories().empty());  // now in use
  EXPECT_THAT(UseVocabulary(VocabularyText()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already in use")));
}

}  // namespace
}  // namespace marketlens::marketplace
