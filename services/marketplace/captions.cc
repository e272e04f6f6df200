#include "services/marketplace/captions.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace marketlens::marketplace {
namespace {

// Platforms in truth order (alphabetical); captions for any other platform use
// instagram's numbers.
const std::vector<std::string>& TruthPlatforms() {
  static const auto* v = new std::vector<std::string>{"instagram", "pinterest", "tiktok", "x", "youtube"};
  return *v;
}

struct AngleSpec {
  std::string name;
  std::vector<std::string> hooks;      // the opening line; {brand} {noun}
  std::vector<std::string> bodies;     // a second sentence (long-form platforms)
  std::vector<std::string> signature;  // the angle's hashtags (2 to 3 of them are used)
  // Per platform, in TruthPlatforms() order: raw lift (normalised later) and
  // how often influencers pick it.
  std::vector<double> lift;
  std::vector<double> weight;
};

const std::vector<AngleSpec>& Angles() {
  //                                            instagram pinterest tiktok  x
  //                                            youtube
  static const auto* v = new std::vector<AngleSpec>{
      {"tutorial",
       {"3 ways I use my {brand} {noun} every single day",
        "How to get the most out of your {noun} (save this!)", "Step by step: my {noun} routine with {brand}",
        "The {noun} trick nobody told me about"},
       {"Full walkthrough below, it takes five minutes.",
        "Save it for later and tell me if it works for you.", "I wish I had known this when I started."},
       {"tutorial", "howto", "tips", "lifehack"},
       {1.10, 1.30, 1.30, 0.95, 1.35},
       {1.0, 1.4, 1.2, 0.6, 1.3}},
      {"honest_review",
       {"My honest review of the {brand} {noun} after a month", "Is the {brand} {noun} worth it? Honest take",
        "{brand} {noun}: the good, the bad and the annoying",
        "I tested the {brand} {noun} so you don't have to"},
       {"Not everything is perfect, and I say so.", "Pros and cons in the comments.",
        "No filter, no script, just how it went."},
       {"honestreview", "review", "worthit", "realreview"},
       {1.00, 0.90, 1.10, 1.15, 1.25},
       {1.0, 0.6, 1.0, 1.2, 1.4}},
      {"unboxing",
       {"Unboxing the new {brand} {noun}!", "Look what just arrived: {brand} {noun}",
        "New in: the {brand} {noun}", "Opening my {brand} {noun} with you"},
       {"First impressions are... interesting.", "The packaging alone!", "Let's see what's inside."},
       {"unboxing", "newin", "haul", "firstimpressions"},
       {0.95, 0.80, 1.05, 0.85, 1.10},
       {1.0, 0.5, 1.2, 0.8, 1.0}},
      {"discount_code",
       {"Use my code for 20% off the {brand} {noun}", "Sale alert: the {brand} {noun} is on offer",
        "Link in bio for the {brand} {noun} deal", "Grab the {brand} {noun} while the discount lasts"},
       {"Code valid this week only.", "Tap the link before it sells out.", "Thank me later."},
       {"discountcode", "sale", "promo", "linkinbio"},
       {0.80, 0.85, 0.70, 0.80, 0.75},
       {1.3, 1.0, 1.2, 1.2, 0.8}},
      {"lifestyle",
       {"Slow mornings with my {brand} {noun}", "A day in my life (with a little help from {brand})",
        "Little things that make my week: the {brand} {noun}", "Sunday reset, featuring my {noun}"},
       {"Coffee, sunlight and no plans.", "It fits right into my routine.", "Small joys count."},
       {"dayinmylife", "aesthetic", "morningroutine", "selfcare"},
       {1.25, 1.30, 1.10, 0.85, 0.90},
       {1.3, 1.4, 1.0, 0.6, 0.7}},
      {"giveaway",
       {"GIVEAWAY: win a {brand} {noun}!", "I'm giving away a {brand} {noun} to one of you",
        "Want a free {brand} {noun}? Read on", "Celebrating with a {brand} {noun} giveaway"},
       {"Follow, like and tag a friend to enter.", "Winner picked on Friday.", "Open worldwide, good luck!"},
       {"giveaway", "win", "contest", "freebie"},
       {1.20, 0.80, 0.95, 1.25, 1.00},
       {0.8, 0.4, 0.7, 1.0, 0.5}},
      {"comparison",
       {"{brand} {noun} vs the one I used before", "Which {noun} should you buy? I compared three",
        "Cheap vs premium {noun}: is {brand} the winner?",
        "Side by side: {brand} {noun} and the competition"},
       {"The result surprised me.", "Scores at the end.", "Spoiler: price isn't everything."},
       {"comparison", "versus", "whichisbetter", "buyersguide"},
       {0.90, 0.85, 1.00, 1.05, 1.20},
       {0.6, 0.6, 0.7, 0.9, 1.2}},
  };
  return *v;
}

size_t PlatformIndex(absl::string_view platform) {
  const auto& p = TruthPlatforms();
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == platform) return i;
  }
  return 0;  // instagram
}

// Per platform: the angles' normalised lifts and shares (expected lift 1 under
// the shares).
struct PlatformTable {
  std::vector<double> lift;
  std::vector<double> share;
  std::vector<double> cumulative;
};

const std::vector<PlatformTable>& Tables() {
  static const auto* v = [] {
    auto* tables = new std::vector<PlatformTable>();
    const auto& angles = Angles();
    for (size_t p = 0; p < TruthPlatforms().size(); ++p) {
      PlatformTable t;
      double total = 0, mean = 0;
      for (const AngleSpec& a : angles) total += a.weight[p];
      for (const AngleSpec& a : angles) {
        t.share.push_back(a.weight[p] / total);
        mean += a.weight[p] / total * a.lift[p];
      }
      std::vector<double> weights;
      for (const AngleSpec& a : angles) {
        t.lift.push_back(a.lift[p] / mean);
        weights.push_back(a.weight[p]);
      }
      t.cumulative = Cumulative(weights);
      tables->push_back(std::move(t));
    }
    return tables;
  }();
  return *v;
}

std::string TagOf(absl::string_view words) {
  std::string tag;
  for (char c : words) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u)) tag.push_back(absl::ascii_tolower(u));
  }
  return tag;
}

// How a tag is written: mostly lower-case, sometimes CamelCase-ish
// (capitalised), as people do.
std::string Written(const std::string& tag, Rng& rng) {
  std::string out = absl::StrCat("#", tag);
  if (out.size() > 1 && Chance(rng, 0.2)) out[1] = absl::ascii_toupper(static_cast<unsigned char>(out[1]));
  return out;
}

template <typename T>
std::vector<T> Sample(const std::vector<T>& items, int n, Rng& rng) {
  std::vector<T> copy = items;
  std::shuffle(copy.begin(), copy.end(), rng);
  copy.resize(std::min<size_t>(copy.size(), static_cast<size_t>(std::max(0, n))));
  return copy;
}

}  // namespace

std::vector<std::string> ExtractHashtags(absl::string_view text) {
  std::vector<std::string> tags;
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '#') continue;
    size_t j = i + 1;
    std::string tag;
    while (j < text.size()) {
      const unsigned char u = static_cast<unsigned char>(text[j]);
      if (absl::ascii_isalnum(u) || u == '_' || u >= 0x80) {
        tag.push_back(u < 0x80 ? absl::ascii_tolower(u) : static_cast<char>(u));
        ++j;
      } else {
        break;
      }
    }
    if (!tag.empty() && seen.insert(tag).second) tags.push_back(tag);
    i = j - 1;
  }
  return tags;
}

Caption WriteCaption(const CaptionSubject& s, Rng& rng) {
  const size_t p = PlatformIndex(s.platform);
  const PlatformTable& table = Tables()[p];
  const size_t a = PickCumulative(rng, table.cumulative);
  const AngleSpec& angle = Angles()[a];
  Caption out;
  out.angle = angle.name;
  out.lift = table.lift[a];

  auto fill = [&](const std::string& t) {
    return absl::StrReplaceAll(t, {{"{brand}", s.brand}, {"{noun}", s.noun}});
  };
  const std::string hook = fill(Pick(rng, angle.hooks));
  const std::string body = fill(Pick(rng, angle.bodies));
  const std::string brand_tag = TagOf(s.brand);
  const std::string category_tag = TagOf(s.category);
  const std::string noun_tag = TagOf(s.noun);
  const bool disclose = Chance(rng, 0.6);
  const std::string disclosure = Chance(rng, 0.7) ? "ad" : "sponsored";
  std::vector<std::string> tags;
  const std::string& platform = TruthPlatforms()[p];
  if (platform == "tiktok") {
    for (const auto& t : Sample(angle.signature, UniformInt(rng, 1, 2), rng)) tags.push_back(t);
    tags.push_back(Chance(rng, 0.5) ? "fyp" : "foryou");
    if (Chance(rng, 0.5)) tags.push_back(absl::StrCat(category_tag, "tok"));
    if (Chance(rng, 0.3)) tags.push_back("tiktokmademebuyit");
    if (disclose) tags.push_back(disclosure);
    std::vector<std::string> written;
    for (const auto& t : tags) written.push_back(Written(t, rng));
    out.text = absl::StrCat(hook, " ", absl::StrJoin(written, " "));
  } else if (platform == "youtube") {
    for (const auto& t : Sample(angle.signature, UniformInt(rng, 1, 2), rng)) tags.push_back(t);
    if (Chance(rng, 0.5)) tags.push_back(brand_tag);
    std::vector<std::string> written;
    for (const auto& t : tags) written.push_back(Written(t, rng));
    out.text = absl::StrCat(hook, " | ", s.brand, " ", s.noun, " \u2014 ", body,
                            disclose ? " (Sponsored)" : "", " ", absl::StrJoin(written, " "));
  } else if (platform == "x") {
    tags.push_back(Pick(rng, angle.signature));
    if (Chance(rng, 0.4)) tags.push_back(brand_tag);
    if (disclose) tags.push_back(disclosure);
    std::vector<std::string> written;
    for (const auto& t : tags) written.push_back(Written(t, rng));
    // Tags inline, as tweets do: the first one mid-sentence when it reads well.
    out.text = absl::StrCat(hook, " ", absl::StrJoin(written, " "));
  } else if (platform == "pinterest") {
    for (const auto& t : Sample(angle.signature, UniformInt(rng, 1, 2), rng)) tags.push_back(t);
    tags.push_back(category_tag);
    if (Chance(rng, 0.5)) tags.push_back(noun_tag);
    std::vector<std::string> written;
    for (const auto& t : tags) written.push_back(Written(t, rng));
    out.text = absl::StrCat(hook, ". ", body, " ", absl::StrJoin(written, " "));
  } else {  // instagram (and anything else): a few sentences, then a block of
            // tags
    for (const auto& t : Sample(angle.signature, UniformInt(rng, 2, 3), rng)) tags.push_back(t);
    tags.push_back(brand_tag);
    tags.push_back(category_tag);
    if (Chance(rng, 0.6)) tags.push_back(noun_tag);
    static const std::vector<std::string> kGeneric = {"instagood", "photooftheday", "musthave",
                                                      "love",      "explorepage",   "reels"};
    for (const auto& t : Sample(kGeneric, UniformInt(rng, 1, 4), rng)) tags.push_back(t);
    std::shuffle(tags.begin(), tags.end(),
                 rng);  // a tag block is in no particular order
    if (disclose) tags.insert(tags.begin(), disclosure);
    std::vector<std::string> written;
    for (const auto& t : tags) written.push_back(Written(t, rng));
    out.text = absl::StrCat(hook, " \u2728 ", body, " \u00b7 ", absl::StrJoin(written, " "));
  }
  out.hashtags = ExtractHashtags(out.text);
  return out;
}

std::vector<v1::CaptionTruth> CaptionTruths() {
  std::vector<v1::CaptionTruth> out;
  const auto& platforms = TruthPlatforms();
  const auto& angles = Angles();
  for (size_t p = 0; p < platforms.size(); ++p) {
    std::vector<std::pair<std::string, size_t>> by_name;
    for (size_t a = 0; a < angles.size(); ++a) by_name.emplace_back(angles[a].name, a);
    std::sort(by_name.begin(), by_name.end());
    for (const auto& [name, a] : by_name) {
      v1::CaptionTruth t;
      t.set_platform(platforms[p]);
      t.set_angle(name);
      t.set_lift(std::round(Tables()[p].lift[a] * 1e4) / 1e4);
      t.set_share(std::round(Tables()[p].share[a] * 1e4) / 1e4);
      for (const auto& h : angles[a].signature) t.add_hashtags(h);
      out.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace marketlens::marketplace
