#include "services/marketplace/captions.h"

#include <map>
#include <set>
#include <string>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace marketlens::marketplace {
namespace {

TEST(CaptionsTest, ExtractHashtagsLowerCasesKeepsOrderAndDropsRepeats) {
  EXPECT_EQ(ExtractHashtags("Love it #HonestReview #ad, #fyp #honestreview "
                            "#snake_case #Caf\xC3\xA9 # x"),
            (std::vector<std::string>{"honestreview", "ad", "fyp", "snake_case", "caf\xC3\xA9"}));
  EXPECT_TRUE(ExtractHashtags("no tags here").empty());
  EXPECT_EQ(ExtractHashtags("#a#b"), (std::vector<std::string>{"a", "b"}));
}

TEST(CaptionsTest, EachPlatformHasItsStyle) {
  Rng rng = MakeRng(1, 1);
  std::map<std::string, double> mean_tags, mean_length;
  for (const char* platform : {"instagram", "tiktok", "youtube", "pinterest", "x"}) {
    for (int i = 0; i < 300; ++i) {
      Caption c = WriteCaption({"Voltix", "earbuds", "Electronics", platform}, rng);
      ASSERT_FALSE(c.text.empty());
      ASSERT_FALSE(c.hashtags.empty()) << c.text;
      EXPECT_EQ(c.hashtags, ExtractHashtags(c.text));
      for (const auto& h : c.hashtags) {
        EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(c.text), "#" + h)) << c.text;
        EXPECT_EQ(h, absl::AsciiStrToLower(h));
      }
      if (std::string(platform) == "x") {
        EXPECT_LE(c.text.size(), 280u) << c.text;
      }
      if (std::string(platform) == "tiktok") {
        EXPECT_TRUE(absl::c_linear_search(c.hashtags, "fyp") || absl::c_linear_search(c.hashtags, "foryou"));
      }
      mean_tags[platform] += c.hashtags.size() / 300.0;
      mean_length[platform] += c.text.size() / 300.0;
    }
  }
  EXPECT_GT(mean_tags["instagram"], mean_tags["tiktok"]);
  EXPECT_GT(mean_tags["tiktok"], mean_tags["x"]);
  EXPECT_GT(mean_tags["instagram"], 5);
  EXPECT_LT(mean_tags["x"], 3);
  EXPECT_GT(mean_length["instagram"], mean_length["x"]);
}

TEST(CaptionsTest, TruthIsNormalisedPerPlatformAndMatchesWhatIsWritten) {
  const auto truths = CaptionTruths();
  std::map<std::string, double> expected_lift, share_sum;
  std::set<std::string> keys;
  for (size_t i = 0; i < truths.size(); ++i) {
    const auto& t = truths[i];
    const std::string key = t.platform() + "/" + t.angle();
    if (i > 0) {
      EXPECT_LT(truths[i - 1].platform() + "/" + truths[i - 1].angle(), key);
    }
    keys.insert(key);
    expected_lift[t.platform()] += t.share() * t.lift();
    share_sum[t.platform()] += t.share();
    EXPECT_GT(t.lift(), 0.5);
    EXPECT_LT(t.lift(), 1.6);
    EXPECT_GE(t.hashtags_size(), 3);
  }
  EXPECT_EQ(expected_lift.size(), 5u);
  for (const auto& [platform, lift] : expected_lift) {
    EXPECT_NEAR(lift, 1.0, 0.01) << platform;
    EXPECT_NEAR(share_sum[platform], 1.0, 0.01) << platform;
  }
  // Angles vary in performance: on YouTube a tutorial beats a discount code by
  // a wide margin.
  std::map<std::string, double> lift;
  for (const auto& t : truths) lift[t.platform() + "/" + t.angle()] = t.lift();
  EXPECT_GT(lift["youtube/tutorial"], 1.4 * lift["youtube/discount_code"]);
  EXPECT_GT(lift["instagram/lifestyle"], lift["instagram/comparison"]);

  // Every caption carries a signature hashtag of its angle, and its lift is the
  // truth's.
  Rng rng = MakeRng(3, 3);
  std::map<std::string, int> angles;
  for (int i = 0; i < 500; ++i) {
    Caption c = WriteCaption({"Hearth & Co", "skillet", "Kitchen", "youtube"}, rng);
    ++angles[c.angle];
    EXPECT_NEAR(c.lift, lift["youtube/" + c.angle], 1e-3);
    bool has_signature = false;
    for (const auto& t : truths) {
      if (t.platform() != "youtube" || t.angle() != c.angle) continue;
      for (const auto& h : t.hashtags()) has_signature |= absl::c_linear_search(c.hashtags, h);
    }
    EXPECT_TRUE(has_signature) << c.text;
  }
  EXPECT_EQ(angles.size(), 7u);
}

}  // namespace
}  // namespace marketlens::marketplace
