// Influencer post captions for the generated marketplace: each post is written
// from one "angle" (a tutorial, an honest review, an unboxing, a discount code,
// ...) in its platform's style (Instagram: a few sentences and a block of
// hashtags; TikTok: one line and trend tags; YouTube: a title; Pinterest: a
// description; X: one short line; always a single line, so exported CSV rows
// stay one line each, which the export's mess manifest relies on), with the
// angle's signature hashtags, brand and category tags, and disclosure tags
// (#ad, #sponsored).
//
// The plant: how a post performs depends on its angle and platform. Posts
// written from an angle get `lift` times the engagement of the platform's
// average post (lifts are normalised so that each platform's expected lift is
// 1, which keeps an influencer's planted engagement rate true on average). The
// lifts and the angles' signature hashtags are the truth (v1::CaptionTruth), so
// an analysis of "which hashtags and angles perform on each platform" can be
// scored. Brand, category, trend and disclosure tags carry no lift.
#ifndef MARKETLENS_SERVICES_MARKETPLACE_CAPTIONS_H_
#define MARKETLENS_SERVICES_MARKETPLACE_CAPTIONS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "marketlens/marketplace/v1/marketplace.pb.h"
#include "services/marketplace/rng.h"

namespace marketlens::marketplace {

struct Caption {
  std::string text;                   // as posted, hashtags included
  std::vector<std::string> hashtags;  // ExtractHashtags(text)
  std::string angle;
  double lift = 1;  // the angle's normalised lift on the platform
};

// What the post is about.
struct CaptionSubject {
  std::string brand;     // "Voltix"
  std::string noun;      // "earbuds"
  std::string category;  // "Electronics"
  std::string platform;  // "instagram", "tiktok", "youtube", "pinterest", "x"
                         // (others: instagram's style)
};

// Draws an angle (by the platform's angle shares) and writes the caption.
Caption WriteCaption(const CaptionSubject& subject, Rng& rng);

// The planted lifts: one row per (platform, angle), in (platform, angle) order.
std::vector<v1::CaptionTruth> CaptionTruths();

// Hashtags of a text, lower-case (ASCII), without '#', first appearance order,
// no repeats. A tag is '#' followed by letters, digits or '_' (UTF-8 letters
// kept as written).
std::vector<std::string> ExtractHashtags(absl::string_view text);

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_CAPTIONS_H_
