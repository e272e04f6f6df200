#include "services/analyzer/rag/content_writers.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status/macros.h"
#include "services/analyzer/llm/json_schema.h"

namespace marketlens::analyzer::rag {
namespace {

std::vector<std::string> CiteAll(const std::vector<Fact>& facts) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const Fact& f : facts) {
    const std::string id = f.source + ":" + f.id;
    if (seen.insert(id).second) ids.push_back(id);
  }
  return ids;
}

template <typename T>
absl::StatusOr<const T*> ContextOf(const llm::RenderedPrompt& p) {
  const T* c = dynamic_cast<const T*>(p.context.get());
  if (c == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(p.id, ": not the context this writer reads"));
  return c;
}

absl::StatusOr<google::protobuf::Struct> WriteSummary(const llm::RenderedPrompt& p) {
  ASSIGN_OR_RETURN(auto ctx, ContextOf<SummaryContext>(p));
  const SummaryContext& c = *ctx;
  std::vector<std::string> sentences;
  if (c.contacts_total == 0 || !c.last.has_value()) {
    sentences.push_back(absl::StrCat(c.who, " has no customer-service contacts on record."));
  } else {
    const Contact& last = *c.last;
    sentences.push_back(absl::StrCat(c.who, " has contacted us ", Plural(c.contacts_total, "time", "times"),
                                     ", most often by ", c.top_channel, " (", c.top_channel_count, " of ",
                                     c.contacts_loaded, ")."));
    std::string s = absl::StrCat("The last contact was by ", last.channel, " on ", Date(last.micros));
    if (!last.topic.empty()) absl::StrAppend(&s, " about \"", last.topic, "\"");
    if (!last.product_title.empty()) absl::StrAppend(&s, " regarding the ", ShortTitle(last.product_title));
    sentences.push_back(s + ".");
    if (c.key_topics.size() > 1) {
      std::vector<std::string> quoted;
      for (const auto& t : c.key_topics) quoted.push_back(absl::StrCat("\"", t, "\""));
      sentences.push_back(absl::StrCat("Recurring topics: ", JoinAnd(quoted), "."));
    }
    if (!last.notes.empty()) sentences.push_back(absl::StrCat("Latest note: ", Excerpt(last.notes, 200)));
    if (!c.discussed.empty()) {
      sentences.push_back(absl::StrCat(
          "Products under discussion in the months of their contacts: ", JoinAnd(c.discussed), "."));
    }
  }
  if (c.reviews_total > 0 && c.latest_review.has_value()) {
    const Review& r = *c.latest_review;
    sentences.push_back(absl::StrCat(c.who, " has written ", Plural(c.reviews_total, "review", "reviews"),
                                     "; the latest gives the ", ShortTitle(r.product_title), " ", r.rating,
                                     " of 5 stars."));
  }
  if (c.shop_interactions > 0) {
    sentences.push_back(absl::StrCat(
        "They have ", Plural(c.shop_interactions, "shop interaction", "shop interactions"), " on record."));
  }
  if (c.sentiment_n > 0) {
    sentences.push_back(absl::StrCat("Overall sentiment is ", c.label, " (",
                                     absl::StrFormat("%.2f", c.sentiment), " on a -1 to 1 scale)."));
  }
  google::protobuf::Struct out;
  llm::SetString(&out, "summary", Excerpt(absl::StrJoin(sentences, " "), 1990));
  std::vector<std::string> topics;
  for (size_t i = 0; i < c.key_topics.size() && i < 5; ++i) topics.push_back(Excerpt(c.key_topics[i], 76));
  llm::SetStrings(&out, "key_topics", topics);
  llm::SetString(&out, "sentiment", c.label);
  llm::SetStrings(&out, "cited_ids", CiteAll(c.facts));
  return out;
}

absl::StatusOr<google::protobuf::Struct> WriteEmail(const llm::RenderedPrompt& p) {
  ASSIGN_OR_RETURN(auto ctx, ContextOf<EmailContext>(p));
  const EmailContext& c = *ctx;
  const std::string& first = c.first_name;
  std::vector<std::string> paragraphs;
  if (c.complaint.has_value()) {
    const Contact& k = *c.complaint;
    std::string s = absl::StrCat("We're sorry about the ", k.topic.empty() ? "trouble" : k.topic);
    if (!k.product_title.empty()) absl::StrAppend(&s, " with your ", ShortTitle(k.product_title));
    absl::StrAppend(
        &s, " you told us about on ", Date(k.micros),
        ". Thank you for your patience, and just reply to this email if anything is still not right.");
    paragraphs.push_back(s);
  }
  std::string subject;
  if (c.anchor.has_value()) {
    const std::string name = ShortTitle(c.anchor->title);
    subject = c.bought ? absl::StrCat(first, ", how is your ", name, " working out?")
                       : absl::StrCat(first, ", still thinking about the ", name, "?");
    std::string para = c.bought ? absl::StrCat("We hope you're enjoying the ", name, ".")
                                : absl::StrCat("We noticed you were looking at the ", name, ".");
    if (c.review_count > 0) {
      absl::StrAppend(&para,
                      absl::StrFormat(" It's rated %.1f out of 5 by %d reviewers", c.rating, c.review_count));
      if (!c.praised.empty()) {
        std::vector<std::string> h;
        for (const auto& x : c.praised) h.push_back(Humanize(x));
        absl::StrAppend(&para, ", who especially like the ", JoinAnd(h));
      }
      para += ".";
    }
    if (!c.quote.empty()) absl::StrAppend(&para, " As one customer put it: \"", c.quote, "\"");
    paragraphs.push_back(para);
  }
  if (!c.pick_titles.empty()) {
    std::vector<std::string> names;
    for (const auto& title : c.pick_titles) names.push_back(ShortTitle(title));
    paragraphs.push_back(absl::StrCat("You might also like the ", JoinAnd(names), "."));
    if (subject.empty())
      subject = absl::StrCat(first, ", picked for you: the ", ShortTitle(c.pick_titles[0]));
  }
  if (subject.empty()) subject = absl::StrCat(first, ", thank you for shopping with us");
  if (paragraphs.empty()) paragraphs.push_back("Thank you for being part of our community.");
  google::protobuf::Struct out;
  llm::SetString(&out, "subject", Excerpt(subject, 116));
  llm::SetString(
      &out, "body",
      Excerpt(absl::StrCat(c.greeting.empty() ? absl::StrCat("Hi ", first) : c.greeting, ",\n\n",
                           absl::StrJoin(paragraphs, "\n\n"), "\n\nBest wishes,\nThe marketlens shop team"),
              2490));
  llm::SetStrings(&out, "cited_ids", CiteAll(c.facts));
  return out;
}

std::string HashtagFromText(const std::string& text) {
  std::string t = "#";
  bool upper = true;
  for (char ch : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(ch))) {
      t.push_back(upper ? absl::ascii_toupper(static_cast<unsigned char>(ch)) : ch);
      upper = false;
    } else {
      upper = true;
    }
  }
  return t.size() > 1 ? t : "";
}

// A hook written from an angle that performs, filled only with the brief's facts.
std::string AngleHook(const std::string& angle, const BriefContext& c) {
  const std::string aspect = c.praised.empty() ? "" : Humanize(c.praised[0].first);
  const std::string stars =
      c.reviews > 0 ? absl::StrFormat("%.1f stars from %d reviews", c.rating, c.reviews) : "";
  if (angle == "tutorial") {
    return absl::StrCat("How to get the most out of the ", c.name, aspect.empty() ? "" : "'s " + aspect,
                        ", step by step");
  }
  if (angle == "honest_review") {
    return absl::StrCat("My honest review of the ", c.name,
                        stars.empty() ? "" : absl::StrCat(": ", stars, " - do I agree?"));
  }
  if (angle == "unboxing") {
    return absl::StrCat("Unboxing the ", c.name, " by ", c.brand,
                        aspect.empty() ? "" : absl::StrCat(": first look at the ", aspect));
  }
  if (angle == "discount_code") {
    return absl::StrCat("Deal alert: the ", c.name, " by ", c.brand,
                        stars.empty() ? "" : absl::StrCat(" (", stars, ")"), " - use my code [CODE]");
  }
  if (angle == "comparison") {
    return absl::StrCat("The ", c.name, " vs. the rest",
                        aspect.empty() ? "" : absl::StrCat(": reviewers single out the ", aspect));
  }
  if (angle == "giveaway") {
    return absl::StrCat("Giveaway: win the ", c.name, " by ", c.brand,
                        stars.empty() ? "" : absl::StrCat(" (", stars, ")"));
  }
  if (angle == "lifestyle") {
    return absl::StrCat("A day with the ", c.name,
                        aspect.empty() ? "" : absl::StrCat(": putting the ", aspect, " to the test"));
  }
  if (angle == "question") {
    return absl::StrCat("Is the ", c.name, " worth it?", stars.empty() ? "" : absl::StrCat(" ", stars, "."));
  }
  return "";
}

absl::StatusOr<google::protobuf::Struct> WriteBrief(const llm::RenderedPrompt& p) {
  ASSIGN_OR_RETURN(auto ctx, ContextOf<BriefContext>(p));
  const BriefContext& c = *ctx;
  const std::string goal = absl::AsciiStrToLower(c.goal);
  const std::string& name = c.name;
  const std::string& brand = c.brand;
  std::vector<std::string> praised_names;
  for (const auto& [a, s] : c.praised) praised_names.push_back(Humanize(a));
  const auto& angles = c.performance.angles;
  const auto& tags = c.performance.hashtags;

  // Hashtags: those that perform on the platform first (best first), then our own: brand, product,
  // category, praised aspects.
  std::vector<std::string> hashtags;
  std::set<std::string> tags_seen;
  auto add_tag = [&](const std::string& t) {
    if (!t.empty() && t.size() <= 60 && hashtags.size() < 8 &&
        tags_seen.insert(absl::AsciiStrToLower(t)).second)
      hashtags.push_back(t);
  };
  for (size_t i = 0; i < tags.size() && i < 5; ++i) add_tag("#" + tags[i].key);
  for (const std::string& t : {HashtagFromText(brand), HashtagFromText(name), HashtagFromText(c.category)})
    add_tag(t);
  for (const auto& a : praised_names) add_tag(HashtagFromText(a));

  // Caption: opened the way the best-performing angle opens, then the reviewers' own words.
  std::string caption;
  if (!angles.empty()) caption = AngleHook(angles[0].key, c);
  std::string body;
  if (!c.quotes.empty()) {
    body = absl::StrCat(
        "\"", c.quotes[0].second, "\" - a real ", name, " review. ",
        praised_names.empty() ? "" : absl::StrCat("Loved for its ", JoinAnd(praised_names), ". "), "By ",
        brand, ".");
  } else {
    body = absl::StrCat("Meet the ", name, " by ", brand, ".");
  }
  caption = caption.empty() ? body : absl::StrCat(caption, "\n\n", body);
  if (!tags.empty()) {
    std::vector<std::string> top;
    for (size_t i = 0; i < tags.size() && i < 3; ++i) top.push_back("#" + tags[i].key);
    absl::StrAppend(&caption, "\n\n", absl::StrJoin(top, " "));
  }

  // Hooks: one per performing angle, then what reviewers say.
  std::vector<std::string> hooks;
  for (size_t i = 0; i < angles.size() && hooks.size() < 2; ++i) {
    const std::string h = AngleHook(angles[i].key, c);
    if (!h.empty()) hooks.push_back(h);
  }
  for (size_t i = 0; i < c.praised.size() && i < 2 && hooks.size() < 3; ++i) {
    hooks.push_back(absl::StrCat(c.praised[i].second.first, " reviewers mention the ",
                                 Humanize(c.praised[i].first), ". Here's why."));
  }
  if (c.reviews > 0 && hooks.size() < 4) {
    hooks.push_back(
        absl::StrFormat("%.1f stars from %d reviews: does the %s live up to it?", c.rating, c.reviews, name));
  }
  if (hooks.size() < 3 && !c.quotes.empty())
    hooks.push_back(absl::StrCat("\"", c.quotes.back().second, "\""));
  if (hooks.empty()) hooks.push_back(absl::StrCat("First look: the ", name, " by ", brand));

  std::string cta;
  if (absl::StrContains(goal, "aware") || absl::StrContains(goal, "reach")) {
    cta = absl::StrCat("Follow ", brand, " and share this with someone who needs a ", name, ".");
  } else if (absl::StrContains(goal, "sale") || absl::StrContains(goal, "conver") ||
             absl::StrContains(goal, "launch")) {
    cta = absl::StrCat("Tap the link to get the ", name, " today.");
  } else {
    cta = absl::StrCat("Try the ", name, " and tell us what you think in the comments.");
  }
  static const std::map<std::string, std::string> kTone = {{"tiktok", "playful, fast-paced, first-person"},
                                                           {"instagram", "aspirational, visual, warm"},
                                                           {"youtube", "in-depth, honest, hands-on"},
                                                           {"pinterest", "inspirational, practical how-to"},
                                                           {"x", "punchy, conversational"}};
  auto tone = kTone.find(c.platform);
  std::string persona;
  if (!c.segment.empty()) {
    persona = absl::StrFormat("%s customers in %s, who make %.0f%% of the %s's purchases", c.segment,
                              c.region, 100 * c.segment_share, name);
  } else if (!c.category.empty()) {
    persona = absl::StrCat("Shoppers browsing ", c.category);
  } else {
    persona = "Shoppers new to the brand";
  }

  std::vector<std::string> points;
  if (!angles.empty()) {
    const Performance& a = angles[0];
    std::string p = absl::StrFormat(
        "Lead with a %s angle: on %s such captions get %.1fx their creators' usual engagement (%d posts)",
        AngleName(a.key), c.platform, a.lift, a.posts);
    auto example = c.angle_examples.find(a.key);
    if (example != c.angle_examples.end() && !example->second.empty())
      absl::StrAppend(&p, ", e.g. \"", example->second, "\"");
    points.push_back(p + ".");
  }
  if (!tags.empty()) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < tags.size() && i < 3; ++i) {
      parts.push_back(absl::StrFormat("#%s (%.1fx, %d posts)", tags[i].key, tags[i].lift, tags[i].posts));
    }
    points.push_back(absl::StrCat("Hashtags that perform on ", c.platform, ": ", JoinAnd(parts),
                                  ", against the same creators' usual engagement."));
  }
  for (const auto& [a, s] : c.praised) {
    points.push_back(absl::StrFormat("Lead with the %s: %d reviewers mention it, overwhelmingly positively.",
                                     Humanize(a), s.first));
  }
  for (const auto& [category, share] : c.issues) {
    points.push_back(absl::StrFormat("Don't overpromise on %s: %.0f%% of reviews raise it.",
                                     Humanize(category), 100 * share));
  }
  if (c.platform_posts > 0) {
    points.push_back(
        absl::StrFormat("On %s our campaign posts average %.1f%% engagement (%.1f%% across platforms)%s.",
                        c.platform, 100 * c.platform_er, 100 * c.overall_er,
                        c.top_influencers.empty()
                            ? ""
                            : absl::StrFormat("; %s leads with %.1f%%", std::get<0>(c.top_influencers[0]),
                                              100 * std::get<1>(c.top_influencers[0]))));
  }
  if (!c.goal.empty()) points.push_back(absl::StrCat("Campaign goal: ", c.goal, "."));
  if (points.size() > 8) points.resize(8);

  google::protobuf::Struct out;
  llm::SetString(&out, "caption", Excerpt(caption, 590));
  for (auto& h : hooks) h = Excerpt(h, 290);
  if (hooks.size() > 5) hooks.resize(5);
  llm::SetStrings(&out, "hooks", hooks);
  llm::SetStrings(&out, "hashtags", hashtags);
  llm::SetString(&out, "call_to_action", Excerpt(cta, 290));
  llm::SetString(&out, "tone", tone != kTone.end() ? tone->second : "friendly and authentic");
  llm::SetString(&out, "persona", Excerpt(persona, 390));
  for (auto& t : points) t = Excerpt(t, 390);
  llm::SetStrings(&out, "talking_points", points);
  llm::SetStrings(&out, "cited_ids", CiteAll(c.facts));
  return out;
}

}  // namespace

std::string AngleName(const std::string& angle) {
  static const std::map<std::string, std::string> kNames = {
      {"discount_code", "discount-code"}, {"giveaway", "giveaway"},     {"unboxing", "unboxing"},
      {"tutorial", "tutorial"},           {"comparison", "comparison"}, {"honest_review", "honest-review"},
      {"lifestyle", "lifestyle"},         {"question", "question-led"}};
  auto it = kNames.find(angle);
  return it != kNames.end() ? it->second : Humanize(angle);
}

std::unique_ptr<llm::LocalBackend> MakeLocalBackend(std::string model) {
  auto backend = std::make_unique<llm::LocalBackend>(std::move(model));
  RegisterLocalWriters(backend.get());
  return backend;
}

void RegisterLocalWriters(llm::LocalBackend* backend) {
  backend->Register("summarize_interactions", WriteSummary);
  backend->Register("generate_content", WriteEmail);
  backend->Register("generate_brief", WriteBrief);
}

}  // namespace marketlens::analyzer::rag
