#include "services/analyzer/rag/brief_tools.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace marketlens::analyzer::rag {
namespace {

struct Rated {
  const CampaignPost* post;
  double rate = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  if (v.size() % 2 == 1) return v[mid];
  const double upper = v[mid];
  return (*std::max_element(v.begin(), v.begin() + mid) + upper) / 2;
}

struct Group {
  std::vector<const Rated*> posts;
  absl::flat_hash_set<absl::string_view> creators;  // views of the posts' influencer names
};

using ByCreator = absl::flat_hash_map<std::string, std::vector<const Rated*>>;

// Each group's posts rated against their creator's usual rate measured on the creator's posts outside the
// group (the median, shrunk towards the platform's median). Posts of creators with no post outside the group
// carry no evidence and are left out.
std::vector<Performance> Rank(std::map<std::string, Group>& groups, const ByCreator& by_creator,
                              double platform_median, double typical_ratio, const PerformanceOptions& o,
                              size_t max_items) {
  std::vector<Performance> out;
  for (auto& [key, g] : groups) {
    if (static_cast<int>(g.posts.size()) < o.min_posts ||
        static_cast<int>(g.creators.size()) < o.min_creators) {
      continue;
    }
    absl::flat_hash_set<const Rated*> members(g.posts.begin(), g.posts.end());
    absl::flat_hash_map<absl::string_view, double> usual;
    for (absl::string_view creator : g.creators) {
      std::vector<double> others;
      for (const Rated* r : by_creator.at(creator)) {
        if (!members.contains(r)) others.push_back(r->rate);
      }
      if (others.empty()) continue;
      const double m = static_cast<double>(others.size());
      usual[creator] =
          (m * Median(others) + o.creator_prior_posts * platform_median) / (m + o.creator_prior_posts);
    }
    std::vector<std::pair<double, const Rated*>> relative;
    double sum = 0, sum_sq = 0, rate_sum = 0;
    for (const Rated* r : g.posts) {
      auto u = usual.find(r->post->influencer);
      if (u == usual.end()) continue;
      const double rel =
          std::min(o.max_ratio, u->second > 0 ? r->rate / u->second : (r->rate > 0 ? 2.0 : 1.0)) /
          typical_ratio;
      relative.emplace_back(rel, r);
      sum += rel;
      sum_sq += rel * rel;
      rate_sum += r->rate;
    }
    const int n = static_cast<int>(relative.size());
    // Every creator with a usual rate has at least one post in the group.
    const int creators = static_cast<int>(usual.size());
    if (n < o.min_posts || creators < o.min_creators) continue;
    const double mean = sum / n;
    const double var = n > 1 ? std::max(0.0, (sum_sq - n * mean * mean) / (n - 1)) : 0;
    Performance p;
    p.key = key;
    p.posts = n;
    p.creators = creators;
    p.mean_rate = rate_sum / n;
    p.lift = (sum + o.prior_posts) / (n + o.prior_posts);
    p.score = p.lift - std::sqrt(var / (n + o.prior_posts));
    if (p.score <= o.min_score) continue;
    std::sort(relative.begin(), relative.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second->post->id < b.second->post->id;
    });
    for (size_t i = 0; i < relative.size() && i < o.max_examples; ++i)
      p.post_ids.push_back(relative[i].second->post->id);
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(), [](const Performance& a, const Performance& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.posts != b.posts) return a.posts > b.posts;
    return a.key < b.key;
  });
  if (out.size() > max_items) out.resize(max_items);
  return out;
}

}  // namespace

std::string NormalizeHashtag(absl::string_view tag) {
  std::string out;
  for (char ch : tag) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '_') out.push_back(absl::ascii_tolower(c));
  }
  return out;
}

std::string FirstLine(absl::string_view caption, size_t max) {
  caption = absl::StripAsciiWhitespace(caption);
  size_t end = caption.size();
  for (char stop : {'\n', '.', '!', '?'}) {
    const size_t at = caption.find(stop);
    if (at != absl::string_view::npos) end = std::min(end, stop == '\n' ? at : at + 1);
  }
  std::string line(absl::StripAsciiWhitespace(caption.substr(0, end)));
  // Trailing hashtags are not part of the hook.
  while (!line.empty()) {
    const size_t hash = line.rfind('#');
    if (hash == std::string::npos || line.find(' ', hash) != std::string::npos) break;
    line = std::string(absl::StripTrailingAsciiWhitespace(line.substr(0, hash)));
  }
  if (line.size() > max) {
    size_t cut = line.rfind(' ', max);
    if (cut == std::string::npos || cut < max / 2) cut = max;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line = absl::StrCat(line.substr(0, cut), "...");
  }
  return line;
}

std::string CaptionAngle(absl::string_view caption, const std::vector<std::string>& hashtags) {
  struct AngleRule {
    const char* angle;
    std::vector<absl::string_view> words;  // matched in the caption padded with spaces
    std::vector<absl::string_view> tags;   // the angle's signature hashtags
  };
  static const auto* kRules = new std::vector<AngleRule>{
      {"discount_code",
       {" code ", "% off", " discount", " promo", " coupon", " deal ", " deals ", " sale ", " sale:"},
       {"discountcode", "discount", "promocode", "promo", "coupon", "sale", "deal", "deals", "linkinbio"}},
      {"giveaway",
       {" giveaway", " giving away", " win a ", " to enter", " free "},
       {"giveaway", "win", "contest", "freebie"}},
      {"unboxing",
       {" unbox", " first look", " first impression", " just arrived", " new in ", " opening my", " haul"},
       {"unboxing", "unbox", "newin", "haul", "firstimpressions", "firstlook"}},
      {"tutorial",
       {" how to ", " how i ", " tutorial", " step by step", " tips ", " tip ", " hack", " guide ",
        " ways i use", " trick "},
       {"tutorial", "howto", "tips", "lifehack", "hacks", "diy"}},
      {"comparison",
       {" vs ", " vs. ", " versus ", " compared ", " better than ", " side by side"},
       {"comparison", "versus", "vs", "whichisbetter", "buyersguide"}},
      {"honest_review",
       {" honest", " review ", " worth it", " verdict", " pros and cons", " the good, the bad", " i tested ",
        " after a month", " after a week", " months later", " weeks later"},
       {"honestreview", "review", "realreview", "worthit", "productreview"}},
      {"lifestyle",
       {" day in my life", " pov ", " routine", " grwm", " get ready with me", " slow mornings",
        " sunday reset", " little things"},
       {"dayinmylife", "aesthetic", "morningroutine", "selfcare", "routine", "grwm", "pov", "ditl"}},
  };
  absl::flat_hash_set<std::string> tags;
  for (const auto& t : hashtags) tags.insert(NormalizeHashtag(t));
  // The signature hashtags say it most reliably, then the words.
  for (const AngleRule& rule : *kRules) {
    for (absl::string_view t : rule.tags) {
      if (tags.contains(t)) return rule.angle;
    }
  }
  std::string text = absl::StrCat(" ", absl::AsciiStrToLower(caption), " ");
  for (char& c : text) {
    if (c == '\n' || c == '.' || c == '!' || c == ';' || c == '(' || c == ')' || c == '|') c = ' ';
  }
  for (const AngleRule& rule : *kRules) {
    for (absl::string_view w : rule.words) {
      if (absl::StrContains(text, w)) return rule.angle;
    }
  }
  const std::string first = FirstLine(caption, 1000);
  if (!first.empty() && first.back() == '?') return "question";
  return "showcase";
}

PlatformPerformance AnalyzePlatform(const std::vector<CampaignPost>& posts, const PerformanceOptions& o) {
  PlatformPerformance out;
  std::vector<Rated> rated;
  rated.reserve(posts.size());
  for (const CampaignPost& p : posts) {
    Rated r{&p};
    if (p.views >= std::max<int64_t>(1, o.min_views)) {
      r.rate = static_cast<double>(p.engagements) / static_cast<double>(p.views);
    } else if (p.views == 0 && p.engagement_rate >= 0) {
      r.rate = p.engagement_rate;
    } else {
      continue;
    }
    if (!std::isfinite(r.rate) || r.rate < 0) continue;
    rated.push_back(r);
  }
  out.posts = static_cast<int>(rated.size());
  if (rated.empty()) return out;
  double total = 0;
  std::vector<double> all;
  ByCreator by_creator;
  for (const Rated& r : rated) {
    total += r.rate;
    all.push_back(r.rate);
    by_creator[r.post->influencer].push_back(&r);
  }
  out.mean_rate = total / rated.size();
  const double platform_median = Median(all);
  if (out.mean_rate <= 0) return out;  // nothing engages: nothing performs
  std::map<std::string, Group> tags, angles;
  for (const Rated& r : rated) {
    std::set<std::string> seen;
    for (const std::string& raw : r.post->hashtags) {
      const std::string tag = NormalizeHashtag(raw);
      if (tag.empty() || !seen.insert(tag).second) continue;
      Group& g = tags[tag];
      g.posts.push_back(&r);
      g.creators.insert(r.post->influencer);
    }
    Group& a = angles[CaptionAngle(r.post->caption, r.post->hashtags)];
    a.posts.push_back(&r);
    a.creators.insert(r.post->influencer);
  }
  angles.erase("showcase");  // "no particular angle" is not an angle to recommend
  // A typical post's rate over its creator's median is above 1 (rates are skewed): ratios are divided by
  // that typical ratio, so a tag that changes nothing has a lift of 1.
  double ratio_sum = 0;
  int ratio_n = 0;
  for (const auto& [creator, list] : by_creator) {
    if (list.size() < 2) continue;
    std::vector<double> rates;
    for (const Rated* r : list) rates.push_back(r->rate);
    const double m = static_cast<double>(rates.size());
    const double usual =
        (m * Median(rates) + o.creator_prior_posts * platform_median) / (m + o.creator_prior_posts);
    if (usual <= 0) continue;
    for (double rate : rates) ratio_sum += std::min(o.max_ratio, rate / usual);
    ratio_n += static_cast<int>(rates.size());
  }
  const double typical_ratio = ratio_n > 0 && ratio_sum > 0 ? ratio_sum / ratio_n : 1;
  out.hashtags = Rank(tags, by_creator, platform_median, typical_ratio, o, o.max_hashtags);
  out.angles = Rank(angles, by_creator, platform_median, typical_ratio, o, o.max_angles);
  return out;
}

}  // namespace marketlens::analyzer::rag
