// GenerateBrief's tools over our own campaign posts: which hashtags and which caption angles perform on a
// platform. Pure functions over rows read by the caller (content_service.cc), so they are tested directly.
//
// Performance is engagement, not frequency: a tag (or angle) is compared with the same creators' posts
// without it. Each of its posts' engagement rate ((likes + comments + shares) / views) is divided by its
// creator's usual rate: the median of the creator's posts outside the group (robust to a viral hit), shrunk
// towards the platform's median by `creator_prior_posts` pseudo-posts. That removes the creator's own pull
// (a star creator's tag is not a tag that performs), and a tag on every post has nothing to be compared with
// (it is never returned). Ratios are divided by the platform's typical post-to-creator-median ratio (rates
// are skewed, so it is above 1), making "no effect" a lift of 1. A tag's lift is the mean of those ratios,
// shrunk towards 1 by `prior_posts`
// pseudo-posts, so a tag seen on two viral posts does not outrank one that lifts thirty. Tags need
// `min_posts` compared posts from `min_creators` creators; they are ranked by a conservative score, lift
// minus one standard error, and only those whose score exceeds `min_score` (a 2% lift) are returned.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_BRIEF_TOOLS_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_BRIEF_TOOLS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace marketlens::analyzer::rag {

struct CampaignPost {
  std::string id, influencer, product_id, caption;
  std::vector<std::string> hashtags;  // lower-case, no '#'
  int64_t views = 0;
  int64_t engagements = 0;      // likes + comments + shares
  double engagement_rate = -1;  // the stored rate, used when views are unknown (-1: none)
};

struct PerformanceOptions {
  int min_posts = 3;
  int min_creators = 2;
  double prior_posts = 5;          // shrinks a lift towards 1
  double creator_prior_posts = 1;  // shrinks a creator's usual rate towards the platform's median
  double max_ratio = 5;            // a post counts as at most 5x its creator's usual (one viral hit)
  double min_score = 1.02;         // lift minus one standard error must exceed this
  int64_t min_views = 20;          // posts seen by fewer are too noisy to rate
  size_t max_hashtags = 6;
  size_t max_angles = 3;
  size_t max_examples = 3;  // post ids kept per tag / angle, best first
};

struct Performance {
  std::string key;  // the hashtag (no '#') or the angle name
  int posts = 0;
  int creators = 0;
  double mean_rate = 0;               // mean engagement rate of its posts
  double lift = 1;                    // shrunk mean of rate / creator's usual rate
  double score = 0;                   // lift - one standard error (the ranking)
  std::vector<std::string> post_ids;  // its best posts (by relative rate), best first
};

struct PlatformPerformance {
  int posts = 0;                      // rated posts on the platform
  double mean_rate = 0;               // their mean engagement rate
  std::vector<Performance> hashtags;  // performing ones, best first
  std::vector<Performance> angles;    // performing ones, best first
};

PlatformPerformance AnalyzePlatform(const std::vector<CampaignPost>& posts,
                                    const PerformanceOptions& options = {});

// The caption's angle: "discount_code", "giveaway", "unboxing", "tutorial", "comparison", "honest_review",
// "lifestyle", "question", or "showcase" (none of these), from its words and hashtags.
std::string CaptionAngle(absl::string_view caption, const std::vector<std::string>& hashtags);

// "#Summer_Vibes!" -> "summer_vibes"; "" when nothing is left.
std::string NormalizeHashtag(absl::string_view tag);

// The caption's first line or sentence (its hook), at most `max` bytes.
std::string FirstLine(absl::string_view caption, size_t max = 120);

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_BRIEF_TOOLS_H_
