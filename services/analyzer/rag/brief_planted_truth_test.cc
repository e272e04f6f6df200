// GenerateBrief's tools scored on the marketplace's planted caption truth (services/marketplace/captions.h):
// the captions are the marketplace's own (WriteCaption: its angles, hooks, signature hashtags, brand, trend
// and disclosure tags), the engagement follows the generator's formula (creator engagement x noise x the
// angle's planted lift on the platform), and the truth is CaptionTruths(). Measured: how often the angle
// classifier names the planted angle, whether the best angle found is the planted best, and the share of
// returned hashtags that are signature tags of angles with a planted lift above 1. The numbers are printed;
// the assertions are floors a little under them.
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/analyzer/rag/brief_tools.h"
#include "services/marketplace/captions.h"

namespace marketlens::analyzer::rag {
namespace {

namespace mp = ::marketlens::marketplace;

const std::vector<std::string> kPlatforms = {"instagram", "pinterest", "tiktok", "x", "youtube"};

TEST(BriefPlantedTruthTest, AngleClassifierNamesThePlantedAngle) {
  mp::Rng rng = mp::MakeRng(11, 1);
  int right = 0, total = 0;
  std::map<std::string, std::pair<int, int>> by_angle;
  for (const std::string& platform : kPlatforms) {
    for (int i = 0; i < 400; ++i) {
      const mp::Caption c = mp::WriteCaption({"Voltix", "speaker", "Electronics", platform}, rng);
      const bool ok = CaptionAngle(c.text, c.hashtags) == c.angle;
      right += ok;
      ++total;
      by_angle[c.angle].first += ok;
      ++by_angle[c.angle].second;
      if (!ok && total < 2000)
        ADD_FAILURE() << c.angle << " read as " << CaptionAngle(c.text, c.hashtags) << ": " << c.text;
    }
  }
  for (const auto& [angle, n] : by_angle)
    std::printf("angle %-14s %d/%d\n", angle.c_str(), n.first, n.second);
  std::printf("angle accuracy: %.3f of %d captions\n", static_cast<double>(right) / total, total);
  EXPECT_GE(static_cast<double>(right) / total, 0.97);
}

TEST(BriefPlantedTruthTest, WhatPerformsMatchesThePlantedLifts) {
  std::map<std::string, std::map<std::string, double>> lift;            // platform -> angle -> lift
  std::map<std::string, std::map<std::string, std::string>> tag_angle;  // platform -> signature tag -> angle
  for (const auto& t : mp::CaptionTruths()) {
    lift[t.platform()][t.angle()] = t.lift();
    for (const auto& h : t.hashtags()) tag_angle[t.platform()][h] = t.angle();
  }
  mp::Rng rng = mp::MakeRng(11, 2);
  std::lognormal_distribution<double> creator_rate(std::log(0.035), 0.6), noise(-0.35 * 0.35 / 2, 0.35),
      reach(std::log(0.3), 0.7);
  std::uniform_real_distribution<double> u(1e-6, 1.0);
  int best_right = 0, good_tags = 0, tags = 0;
  for (const std::string& platform : kPlatforms) {
    // 80 creators with skewed followers and engagement, 1000 posts: a big campaign season on one platform.
    std::vector<std::pair<double, double>> creators;  // (followers, rate)
    for (int i = 0; i < 80; ++i)
      creators.push_back({std::min(8e6, 2000.0 / std::pow(u(rng), 1 / 1.15)), creator_rate(rng)});
    std::vector<CampaignPost> posts;
    for (int i = 0; i < 1000; ++i) {
      const int c = static_cast<int>(rng() % creators.size());
      const mp::Caption caption = mp::WriteCaption({"Voltix", "speaker", "Electronics", platform}, rng);
      CampaignPost p;
      p.id = absl::StrCat(platform, "-", i);
      p.influencer = absl::StrCat("creator", c);
      p.caption = caption.text;
      p.hashtags = caption.hashtags;
      p.views = std::max<int64_t>(1, static_cast<int64_t>(creators[c].first * std::min(3.0, reach(rng))));
      const double likes =
          p.views * std::min(0.9, creators[c].second / 1.13 * std::exp(noise(rng)) * caption.lift);
      p.engagements = static_cast<int64_t>(likes * 1.13);
      posts.push_back(std::move(p));
    }
    const PlatformPerformance perf = AnalyzePlatform(posts);
    std::string truth_best;
    for (const auto& [angle, l] : lift[platform]) {
      if (truth_best.empty() || l > lift[platform][truth_best]) truth_best = angle;
    }
    const std::string found = perf.angles.empty() ? "(none)" : perf.angles[0].key;
    best_right += found == truth_best;
    std::printf("%-9s best angle: planted %s (%.2f), found %s (%.2f) | hashtags:", platform.c_str(),
                truth_best.c_str(), lift[platform][truth_best], found.c_str(),
                perf.angles.empty() ? 0.0 : perf.angles[0].lift);
    for (const auto& t : perf.hashtags) {
      auto a = tag_angle[platform].find(t.key);
      const bool good = a != tag_angle[platform].end() && lift[platform][a->second] > 1;
      good_tags += good;
      ++tags;
      std::printf(" #%s %.2f%s", t.key.c_str(), t.lift, good ? "" : "(!)");
    }
    std::printf("\n");
  }
  std::printf("best angle right on %d of 5 platforms; %d of %d hashtags returned are planted performers\n",
              best_right, good_tags, tags);
  EXPECT_GE(best_right, 4);
  ASSERT_GT(tags, 0);
  EXPECT_GE(static_cast<double>(good_tags) / tags, 0.8);
}

// A brief reads up to 10k posts of a platform: the analysis of that many stays well under the RPC budget.
TEST(BriefPlantedTruthTest, TenThousandPostsAreAnalysedQuickly) {
  mp::Rng rng = mp::MakeRng(11, 3);
  std::vector<CampaignPost> posts;
  for (int i = 0; i < 10000; ++i) {
    const mp::Caption caption = mp::WriteCaption({"Voltix", "speaker", "Electronics", "instagram"}, rng);
    posts.push_back({absl::StrCat("p", i), absl::StrCat("creator", rng() % 400), "", caption.text,
                     caption.hashtags, 10000,
                     static_cast<int64_t>(300 * caption.lift) + static_cast<int64_t>(rng() % 200)});
  }
  const absl::Time start = absl::Now();
  const PlatformPerformance perf = AnalyzePlatform(posts);
  const absl::Duration took = absl::Now() - start;
  std::printf("AnalyzePlatform over %zu posts: %.1f ms, %zu hashtags, %zu angles\n", posts.size(),
              absl::ToDoubleMilliseconds(took), perf.hashtags.size(), perf.angles.size());
  EXPECT_EQ(perf.posts, 10000);
  EXPECT_FALSE(perf.hashtags.empty());
  EXPECT_LT(took, absl::Seconds(5));  // a guard against blow-ups: ~0.1 s optimised, ~1 s in fastbuild
}

}  // namespace
}  // namespace marketlens::analyzer::rag
