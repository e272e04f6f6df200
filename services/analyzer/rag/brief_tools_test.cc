// What performs on a platform: planted hashtags and angles are found first; frequency alone, a single viral
// post, and a star creator's habits are not mistaken for performance.
#include "services/analyzer/rag/brief_tools.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace marketlens::analyzer::rag {
namespace {

// Creators with very different usual engagement; every post carries #fyp. Planted: #dupealert lifts
// engagement 2.2x, #honestreview 1.7x (and its captions are honest reviews). "star" (3x everyone's rate)
// always uses #starlife, which lifts nothing. #viral is on one post with a huge rate.
std::vector<CampaignPost> World() {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> noise(0.85, 1.15);
  const std::vector<std::pair<std::string, double>> creators = {{"ann", 0.04}, {"bob", 0.06}, {"cid", 0.05},
                                                                {"dee", 0.03}, {"eve", 0.05}, {"star", 0.15}};
  std::vector<CampaignPost> posts;
  int n = 0;
  for (const auto& [creator, base] : creators) {
    for (int i = 0; i < 12; ++i) {
      CampaignPost p;
      p.id = absl::StrCat("cp", n++);
      p.influencer = creator;
      p.views = 10000;
      p.hashtags = {"fyp"};
      double lift = 1;
      if (i % 4 == 0) {
        p.hashtags.push_back("dupealert");
        lift = 2.2;
        p.caption = "Found the dupe everyone asks about!";
      } else if (i % 4 == 1) {
        p.hashtags.push_back("honestreview");
        lift = 1.7;
        p.caption = "My honest review after a month. Worth it?";
      } else {
        p.caption = "New in from the brand.";
      }
      if (creator == "star") p.hashtags.push_back("starlife");
      p.engagements = static_cast<int64_t>(p.views * base * lift * noise(rng));
      posts.push_back(p);
    }
  }
  CampaignPost viral{"cp-viral", "ann", "", "Look at this", {"viral", "fyp"}, 10000, 4000};
  posts.push_back(viral);
  CampaignPost tiny{"cp-tiny", "bob", "", "", {"dupealert"}, 5, 5};  // 100% of 5 views: ignored
  posts.push_back(tiny);
  return posts;
}

TEST(BriefToolsTest, PlantedHashtagsComeFirst) {
  const PlatformPerformance perf = AnalyzePlatform(World());
  EXPECT_EQ(perf.posts, 73);  // the 5-view post is not rated
  for (const auto& t : perf.hashtags)
    std::printf("tag %s lift %.3f score %.3f posts %d\n", t.key.c_str(), t.lift, t.score, t.posts);
  for (const auto& t : perf.angles)
    std::printf("angle %s lift %.3f score %.3f posts %d\n", t.key.c_str(), t.lift, t.score, t.posts);
  ASSERT_GE(perf.hashtags.size(), 2u);
  EXPECT_EQ(perf.hashtags[0].key, "dupealert");
  EXPECT_EQ(perf.hashtags[1].key, "honestreview");
  EXPECT_GT(perf.hashtags[0].lift,
            1.4);  // 2.2x plain posts; shrunk, and the others include #honestreview
  EXPECT_EQ(perf.hashtags[0].posts, 18);
  EXPECT_EQ(perf.hashtags[0].creators, 6);
  for (const auto& t : perf.hashtags) {
    EXPECT_NE(t.key, "fyp");       // on every post: frequency is not performance
    EXPECT_NE(t.key, "viral");     // one post is not enough support
    EXPECT_NE(t.key, "starlife");  // the star's own pull, not the tag's
  }
  ASSERT_FALSE(perf.hashtags[0].post_ids.empty());
  // Angles: honest reviews perform ("showcase" is never recommended).
  ASSERT_FALSE(perf.angles.empty());
  EXPECT_EQ(perf.angles[0].key, "honest_review");
}

TEST(BriefToolsTest, NothingPerformsWithoutEngagementOrSupport) {
  EXPECT_TRUE(AnalyzePlatform({}).hashtags.empty());
  std::vector<CampaignPost> flat;
  for (int i = 0; i < 10; ++i) {
    flat.push_back({absl::StrCat("p", i), i % 2 ? "a" : "b", "", "", {"x", i < 5 ? "y" : "z"}, 1000, 50});
  }
  EXPECT_TRUE(AnalyzePlatform(flat).hashtags.empty());  // equal rates: no lift
  std::vector<CampaignPost> zero = flat;
  for (auto& p : zero) p.engagements = 0;
  EXPECT_TRUE(AnalyzePlatform(zero).hashtags.empty());
  // Views unknown: the stored rate is used.
  CampaignPost stored{"s", "a", "", "", {}, 0, 0, 0.07};
  EXPECT_EQ(AnalyzePlatform({stored}).posts, 1);
}

TEST(BriefToolsTest, CaptionAngles) {
  EXPECT_EQ(CaptionAngle("How to style it in 3 steps", {}), "tutorial");
  EXPECT_EQ(CaptionAngle("Use code SAVE10 for 10% off", {}), "discount_code");
  EXPECT_EQ(CaptionAngle("Unboxing day!", {}), "unboxing");
  EXPECT_EQ(CaptionAngle("Speaker A vs speaker B", {}), "comparison");
  EXPECT_EQ(CaptionAngle("My honest take after two weeks", {}), "honest_review");
  EXPECT_EQ(CaptionAngle("Would you wear this? Tell me", {}), "question");
  EXPECT_EQ(CaptionAngle("Sunday vibes", {"grwm"}), "lifestyle");
  EXPECT_EQ(CaptionAngle("Sunday vibes", {}), "showcase");
  EXPECT_EQ(CaptionAngle("", {}), "showcase");
}

TEST(BriefToolsTest, HashtagsAndFirstLines) {
  EXPECT_EQ(NormalizeHashtag("#Summer_Vibes!"), "summer_vibes");
  EXPECT_EQ(NormalizeHashtag("#"), "");
  EXPECT_EQ(FirstLine("Loving it. More text here"), "Loving it.");
  EXPECT_EQ(FirstLine("Big news #ad #new"), "Big news");
  EXPECT_EQ(FirstLine("Line one\nline two"), "Line one");
  EXPECT_LE(FirstLine(std::string(500, 'a'), 50).size(), 53u);
}

}  // namespace
}  // namespace marketlens::analyzer::rag
