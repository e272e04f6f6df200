#include "services/analyzer/rag/content_service.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
#include "services/analyzer/llm/json_schema.h"
#include "services/analyzer/rag/brief_tools.h"
#include "services/analyzer/rag/corpus_index.h"
#include "services/analyzer/rag/grounded_ask.h"

namespace marketlens::analyzer::rag {
namespace {

// The best `k` good (4-5 star) reviews of a product for `query` from the index, read back by id in rank
// order.
std::vector<Review> PraiseFor(CorpusSync* corpus, const ContentStore& store, const std::string& product_id,
                              const std::string& query, size_t k, absl::Time deadline) {
  std::vector<Review> out;
  if (corpus == nullptr || product_id.empty()) return out;
  if (absl::Status s = corpus->EnsureProduct(product_id, deadline); !s.ok()) {
    logging::Warn("retrieval: product not loaded", {{"product_id", product_id}, {"error", s}});
  }
  const std::vector<CorpusHit> hits = corpus->index()->Search(
      query, {.source = Source::kReview, .product_id = product_id, .min_rating = 4}, k);
  std::vector<std::string> ids;
  for (const CorpusHit& h : hits) ids.push_back(h.id);
  auto rows = store.LoadReviews(ids, deadline);
  if (!rows.ok()) return out;
  for (const std::string& id : ids) {
    for (Review& r : *rows) {
      if (r.id == id) out.push_back(r);
    }
  }
  return out;
}

std::string ContactFact(const Contact& k) {
  std::string s = absl::StrCat(Date(k.micros), ", ", k.channel, " about \"", k.topic, "\"");
  if (!k.product_title.empty()) absl::StrAppend(&s, " (product: ", ShortTitle(k.product_title), ")");
  if (k.has_sentiment) absl::StrAppend(&s, absl::StrFormat(", sentiment %.2f", k.sentiment));
  if (!k.notes.empty()) absl::StrAppend(&s, ": ", Excerpt(k.notes, 220));
  return s;
}
std::string ReviewFact(const Review& r) {
  return absl::StrCat(Date(r.micros), ", ", r.rating, "-star review of ", ShortTitle(r.product_title), ": \"",
                      r.title, "\" ", Excerpt(r.text, 200));
}

}  // namespace

std::vector<std::string> PraiseTerms(const Engine& engine, absl::string_view category,
                                     absl::string_view aspect) {
  std::vector<std::string> out = {Humanize(std::string(aspect))};
  for (const std::string& term : engine.taxonomy()->TermsOf(category, aspect)) {
    bool opinion = false;
    for (absl::string_view w : absl::StrSplit(term, ' ')) opinion |= engine.lexicon().Valence(w) != 0;
    if (!opinion && std::find(out.begin(), out.end(), term) == out.end()) out.push_back(term);
  }
  return out;
}

GroundedContent::GroundedContent(postgres::PgPool* pool, const Engine* engine, llm::StructuredLlm* llm,
                                 const llm::PromptLibrary* prompts, RecommendFn recommend,
                                 AnalyzerMetrics* metrics, CorpusSync* corpus)
    : pool_(pool),
      store_(pool),
      engine_(engine),
      llm_(llm),
      prompts_(prompts),
      recommend_(std::move(recommend)),
      metrics_(metrics),
      corpus_(corpus) {
  if (corpus_ == nullptr && pool_ != nullptr) {
    own_index_ = std::make_unique<CorpusIndex>();
    own_sync_ = std::make_unique<CorpusSync>(pool_, own_index_.get(), CorpusSyncOptions{}, metrics_);
    corpus_ = own_sync_.get();
  }
  // The local engine, through the same interface: one attempt (it does no I/O), nothing cached, and a
  // breaker that never opens (its failures would be our bugs, not an outage).
  llm::StructuredLlmOptions o;
  o.backoff.max_attempts = 1;
  o.invalid_output_retries = 0;
  o.breaker_threshold = 1 << 30;
  local_ = std::make_unique<llm::StructuredLlm>(MakeLocalBackend(), nullptr, o, metrics_);
}

GroundedContent::~GroundedContent() = default;

// ---- SummarizeInteractions -----------------------------------------------------------------------------

absl::Status GroundedContent::SummarizeInteractions(const v1::SummarizeInteractionsRequest& req,
                                                    absl::Time deadline,
                                                    v1::SummarizeInteractionsResponse* out) {
  if (pool_ == nullptr) return absl::UnavailableError("no database configured");
  ASSIGN_OR_RETURN(const Customer c, store_.LoadCustomer(req.customer_id(), deadline));
  out->set_customer_id(c.id);
  out->set_total_interactions(static_cast<int32_t>(c.contacts_total));
  out->set_shop_interactions(static_cast<int32_t>(c.shop_interactions));
  out->set_reviews(static_cast<int32_t>(c.reviews_total));

  // Figures computed from the rows (the same whatever the backend).
  std::map<std::string, std::pair<int, int64_t>> channels, topics;  // -> (count, newest)
  double sentiment_sum = 0;
  int sentiment_n = 0;
  for (const Contact& k : c.contacts) {
    auto& ch = channels[k.channel];
    ++ch.first;
    ch.second = std::max(ch.second, k.micros);
    if (!k.topic.empty()) {
      auto& t = topics[k.topic];
      ++t.first;
      t.second = std::max(t.second, k.micros);
    }
    if (k.has_sentiment) {
      sentiment_sum += k.sentiment;
      ++sentiment_n;
    }
  }
  for (const Review& r : c.reviews) {
    sentiment_sum += engine_->Analyze({.title = r.title, .text = r.text, .rating = r.rating}).sentiment;
    ++sentiment_n;
  }
  auto by_count = [](const auto& m) {
    std::vector<std::pair<std::string, std::pair<int, int64_t>>> v(m.begin(), m.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.second.first != b.second.first ? a.second.first > b.second.first
                                              : a.second.second > b.second.second;
    });
    return v;
  };
  const auto channel_rank = by_count(channels);
  const auto topic_rank = by_count(topics);
  if (!channel_rank.empty()) out->set_most_frequent_channel(channel_rank[0].first);
  std::vector<std::string> key_topics;
  for (size_t i = 0; i < topic_rank.size() && i < 5; ++i) key_topics.push_back(topic_rank[i].first);
  const double sentiment = sentiment_n > 0 ? sentiment_sum / sentiment_n : 0;
  out->set_sentiment_score(std::round(sentiment * 1000) / 1000);
  out->set_sentiment(LabelFor(sentiment, 0.2));
  const Contact* last = c.contacts.empty() ? nullptr : &c.contacts.front();
  if (last != nullptr) {
    out->mutable_last_interaction()->set_seconds(last->micros / 1000000);
    out->set_last_channel(last->channel);
    out->set_last_topic(last->topic);
  }

  // Retrieval: the customer's rows (any age, not only the newest loaded above) most relevant to their
  // recurring topics, from the process-wide index (document frequencies of the whole corpus).
  std::vector<Fact> facts;
  std::set<std::string> used;
  auto add_contact = [&](const Contact& k) {
    if (used.insert("contact:" + k.id).second) facts.push_back({"contact", k.id, ContactFact(k)});
  };
  if (last != nullptr) add_contact(*last);
  for (const std::string& topic : key_topics) {
    for (const Contact& k : c.contacts) {
      if (k.topic == topic) {
        add_contact(k);  // the newest contact of each key topic
        break;
      }
    }
  }
  if (corpus_ != nullptr && !key_topics.empty()) {
    if (absl::Status s = corpus_->EnsureCustomer(c.id, deadline); !s.ok()) {
      logging::Warn("retrieval: customer not loaded", {{"customer_id", c.id}, {"error", s}});
    }
    const std::vector<CorpusHit> hits =
        corpus_->index()->Search(absl::StrJoin(key_topics, " "), {.customer_id = c.id}, 6);
    std::vector<std::string> contact_ids, review_ids;
    for (const CorpusHit& h : hits) (h.source == Source::kContact ? contact_ids : review_ids).push_back(h.id);
    ASSIGN_OR_RETURN(const std::vector<Contact> contacts, store_.LoadContacts(contact_ids, deadline));
    ASSIGN_OR_RETURN(const std::vector<Review> reviews, store_.LoadReviews(review_ids, deadline));
    for (const CorpusHit& h : hits) {  // rank order
      if (h.source == Source::kContact) {
        for (const Contact& k : contacts) {
          if (k.id == h.id) add_contact(k);
        }
      } else if (used.insert("review:" + h.id).second) {
        for (const Review& r : reviews) {
          if (r.id == h.id) facts.push_back({"review", r.id, ReviewFact(r)});
        }
      }
    }
  }
  if (!c.reviews.empty() && used.insert("review:" + c.reviews.front().id).second) {
    facts.push_back({"review", c.reviews.front().id, ReviewFact(c.reviews.front())});
  }

  std::vector<Fact> citable = facts;
  std::string stats;
  if (!facts.empty()) {
    stats = absl::StrCat("[stats:", c.id, "] ", c.contacts_total, " customer-service contacts",
                         channel_rank.empty() ? "" : absl::StrCat(", most often by ", channel_rank[0].first),
                         "; ", c.shop_interactions, " shop interactions; ", c.reviews_total,
                         " reviews; mean sentiment ", absl::StrFormat("%.2f", sentiment),
                         c.occupation.empty() ? "" : absl::StrCat("; occupation ", c.occupation),
                         c.segment.empty() ? "" : absl::StrCat("; customer type ", c.segment),
                         c.discussed.empty() ? ""
                                             : absl::StrCat("; products discussed in their contact months: ",
                                                            absl::StrJoin(c.discussed, ", ")));
    citable.push_back({"stats", c.id, stats});
  }
  auto context = std::make_shared<SummaryContext>();
  context->who = c.name.empty() ? absl::StrCat("Customer ", c.id) : c.name;
  if (c.name.empty() && !c.occupation.empty()) {
    context->who =
        absl::StrCat("Customer ", c.id, " (", c.occupation, c.segment.empty() ? "" : ", ", c.segment, ")");
  }
  context->discussed = c.discussed;
  context->contacts_total = c.contacts_total;
  context->contacts_loaded = static_cast<int64_t>(c.contacts.size());
  context->reviews_total = c.reviews_total;
  context->shop_interactions = c.shop_interactions;
  if (!channel_rank.empty()) {
    context->top_channel = channel_rank[0].first;
    context->top_channel_count = channel_rank[0].second.first;
  }
  if (last != nullptr) context->last = *last;
  context->key_topics = key_topics;
  if (!c.reviews.empty()) context->latest_review = c.reviews.front();
  context->sentiment_n = sentiment_n;
  context->sentiment = sentiment;
  context->label = out->sentiment();
  context->facts = facts;
  ASSIGN_OR_RETURN(auto answer,
                   Ask(llm_, local_.get(), prompts_, "summarize_interactions",
                       {{"customer", absl::StrCat(c.name.empty() ? c.id : c.name, " (", c.id, ")")},
                        {"facts", stats + "\n" + FactLines(facts)}},
                       std::move(context), llm::SummarySchema(), citable, /*need_citation=*/false, deadline,
                       metrics_, CustomerCacheScope(c.id)));
  out->set_summary(llm::GetString(answer.value, "summary"));
  for (const auto& t : llm::GetStrings(answer.value, "key_topics")) out->add_key_topics(t);
  std::set<std::string> seen;
  for (const Fact* f : answer.cited) AddCitation(*f, out->mutable_citations(), &seen);
  out->set_backend(answer.backend);
  return absl::OkStatus();
}

// ---- GenerateContent -----------------------------------------------------------------------------------

absl::Status GroundedContent::GenerateContent(const v1::GenerateContentRequest& req, absl::Time deadline,
                                              v1::GenerateContentResponse* out) {
  if (pool_ == nullptr) return absl::UnavailableError("no database configured");
  ASSIGN_OR_RETURN(const Customer c, store_.LoadCustomer(req.customer_id(), deadline));
  out->set_customer_id(c.id);
  std::vector<Fact> facts;

  // The product to write about: one looked at (or carted) but not bought, else the latest purchase.
  const Activity* anchor = nullptr;
  bool bought = false;
  for (const Activity& a : c.activity) {
    if (a.purchases == 0 && !a.title.empty()) {
      anchor = &a;
      break;
    }
  }
  if (anchor == nullptr) {
    for (const Activity& a : c.activity) {
      if (a.purchases > 0 && !a.title.empty()) {
        anchor = &a;
        bought = true;
        break;
      }
    }
  }
  // What reviewers praise about it: the product's insights, and the review that best says so (BM25 index).
  std::vector<std::string> praised;
  std::string quote, quote_id;
  double rating = 0;
  int review_count = 0;
  if (anchor != nullptr) {
    facts.push_back({"interaction", anchor->last_id,
                     absl::StrCat(bought ? "bought" : (anchor->carts > 0 ? "added to cart" : "viewed"), " ",
                                  ShortTitle(anchor->title), " on ", Date(anchor->last_micros))});
    ASSIGN_OR_RETURN(ProductPraise summary, store_.LoadProductPraise(anchor->product_id, deadline));
    rating = summary.rating;
    review_count = summary.review_count;
    praised = summary.praised;
    // The good review that best says what reviewers praise (the index's BM25 over the product's reviews),
    // asked for in the words reviewers use for those features.
    std::vector<std::string> query_terms;
    for (const auto& p : praised) {
      for (std::string& t : PraiseTerms(*engine_, anchor->category, p)) query_terms.push_back(std::move(t));
    }
    const std::vector<Review> best =
        PraiseFor(corpus_, store_, anchor->product_id,
                  query_terms.empty() ? "love great" : absl::StrJoin(query_terms, " "), 1, deadline);
    if (!best.empty()) {
      quote_id = best[0].id;
      quote = SentenceAbout(absl::StrCat(best[0].title, ". ", best[0].text), query_terms);
    }
    if (review_count > 0) {
      std::string f = absl::StrFormat("%s is rated %.1f of 5 by %d reviewers", ShortTitle(anchor->title),
                                      rating, review_count);
      if (!praised.empty()) {
        std::vector<std::string> h;
        for (const auto& p : praised) h.push_back(Humanize(p));
        absl::StrAppend(&f, "; they praise the ", JoinAnd(h));
      }
      facts.push_back({"product_insight", anchor->product_id, f});
    }
    if (!quote.empty())
      facts.push_back({"review", quote_id, absl::StrCat("a reviewer wrote: \"", quote, "\"")});
  }
  // An unhappy recent contact to acknowledge.
  const Contact* complaint = nullptr;
  if (!c.contacts.empty() && c.contacts.front().has_sentiment && c.contacts.front().sentiment < -0.2) {
    complaint = &c.contacts.front();
    facts.push_back({"contact", complaint->id, ContactFact(*complaint)});
  }
  // The recommender's picks, when it answers in time.
  std::vector<std::pair<Recommendation, std::string>> picks;  // with titles
  if (recommend_) {
    auto recs = recommend_(c.id, 3, std::min(deadline, absl::Now() + absl::Milliseconds(500)));
    if (recs.ok() && !recs->empty()) {
      std::vector<std::string> ids;
      for (const auto& r : *recs) ids.push_back(r.product_id);
      absl::flat_hash_map<std::string, std::string> titles =
          store_.LoadTitles(ids, deadline).value_or(absl::flat_hash_map<std::string, std::string>());
      for (const auto& r : *recs) {
        auto t = titles.find(r.product_id);
        if (t == titles.end() || (anchor != nullptr && r.product_id == anchor->product_id)) continue;
        picks.emplace_back(r, t->second);
        out->add_recommended_product_ids(r.product_id);
        facts.push_back({"recommendation", r.product_id,
                         absl::StrCat("recommended for them: ", ShortTitle(t->second),
                                      r.reason.empty() ? "" : absl::StrCat(" (", r.reason, ")"))});
      }
    } else if (!recs.ok()) {
      logging::Debug("recommender unavailable for the email", {{"error", recs.status()}});
    }
  }

  auto context = std::make_shared<EmailContext>();
  context->first_name = FirstName(c.name);
  if (absl::StripAsciiWhitespace(c.name).empty() && !absl::StripAsciiWhitespace(c.occupation).empty()) {
    // Known only by what they do (a customers sheet with id, occupation, type): "Dear Jedi".
    context->first_name = std::string(absl::StripAsciiWhitespace(c.occupation));
    context->greeting = absl::StrCat("Dear ", context->first_name);
  }
  if (complaint != nullptr) context->complaint = *complaint;
  if (anchor != nullptr) context->anchor = *anchor;
  context->bought = bought;
  context->review_count = review_count;
  context->rating = rating;
  context->praised = praised;
  context->quote = quote;
  for (const auto& [r, title] : picks) context->pick_titles.push_back(title);
  context->facts = facts;
  ASSIGN_OR_RETURN(
      auto answer,
      Ask(llm_, local_.get(), prompts_, "generate_content",
          {{"customer", absl::StrCat(c.name.empty() ? c.id : c.name, " (", c.id, ")",
                                     c.segment.empty() ? "" : ", segment " + c.segment,
                                     c.occupation.empty() ? "" : ", occupation " + c.occupation)},
           {"facts", FactLines(facts)}},
          std::move(context), llm::EmailSchema(), facts, /*need_citation=*/true, deadline, metrics_,
          CustomerCacheScope(c.id)));
  out->set_subject(llm::GetString(answer.value, "subject"));
  out->set_body(llm::GetString(answer.value, "body"));
  std::set<std::string> seen;
  for (const Fact* f : answer.cited) AddCitation(*f, out->mutable_citations(), &seen);
  out->set_backend(answer.backend);
  return absl::OkStatus();
}

// ---- GenerateBrief -------------------------------------------------------------------------------------

absl::Status GroundedContent::GenerateBrief(const v1::GenerateBriefRequest& req, absl::Time deadline,
                                            v1::GenerateBriefResponse* out) {
  if (pool_ == nullptr) return absl::UnavailableError("no database configured");
  const std::string platform = absl::AsciiStrToLower(req.platform().empty() ? "instagram" : req.platform());
  ASSIGN_OR_RETURN(const BriefData d, store_.LoadBriefData(req.product(), req.brand(), platform, deadline));
  const BriefData::Product& product = d.product;
  const auto& praised = d.praised;
  const auto& issues = d.issues;
  const auto& top_influencers = d.top_influencers;
  const auto& posts = d.posts;
  const double platform_er = d.platform_er, overall_er = d.overall_er;
  const int platform_posts = d.platform_posts;
  const std::string& segment = d.segment;
  const std::string& region = d.region;
  const double segment_share = d.segment_share;
  std::vector<Fact> facts;
  std::vector<std::pair<std::string, std::string>> quotes;  // (review id, sentence)
  // Reviewer quotes about the praised aspects: the index's BM25 over the product's good reviews, one review
  // per aspect.
  {
    std::set<std::string> used;
    for (const auto& [aspect, stats] : praised) {
      const std::vector<std::string> terms = PraiseTerms(*engine_, product.category, aspect);
      for (const Review& r : PraiseFor(corpus_, store_, product.id, absl::StrJoin(terms, " "), 3, deadline)) {
        if (!used.insert(r.id).second) continue;
        quotes.push_back({r.id, SentenceAbout(absl::StrCat(r.title, ". ", r.text), terms)});
        break;
      }
    }
  }

  const std::string name =
      product.id.empty() ? (req.product().empty() ? req.brand() : req.product()) : ShortTitle(product.title);
  const std::string brand = product.brand.empty() ? req.brand() : product.brand;
  out->set_product_id(product.id);
  if (!product.id.empty() && product.reviews > 0) {
    facts.push_back({"product_insight", product.id,
                     absl::StrFormat("%s by %s (%s): %.1f of 5 from %d reviews", name, brand,
                                     product.category, product.rating, product.reviews)});
  }
  for (const auto& [aspect, stats] : praised) {
    facts.push_back({"product_insight", product.id,
                     absl::StrFormat("reviewers praise the %s (%d mentions, polarity %.2f)", Humanize(aspect),
                                     stats.first, stats.second)});
  }
  for (const auto& [category, share] : issues) {
    facts.push_back({"product_insight", product.id,
                     absl::StrFormat("%.0f%% of reviews report %s", 100 * share, Humanize(category))});
  }
  for (const auto& [id, sentence] : quotes)
    facts.push_back({"review", id, absl::StrCat("\"", sentence, "\"")});
  if (platform_posts > 0) {
    facts.push_back(
        {"campaign_post", platform,
         absl::StrFormat("%d campaign posts on %s average %.1f%% engagement (all platforms: %.1f%%)",
                         platform_posts, platform, 100 * platform_er, 100 * overall_er)});
  }
  for (const auto& [influencer, rate, post] : top_influencers) {
    facts.push_back(
        {"campaign_post", post,
         absl::StrFormat("%s reaches %.1f%% engagement on %s", influencer, 100 * rate, platform)});
  }
  if (!segment.empty()) {
    facts.push_back({"segment", segment,
                     absl::StrFormat("%.0f%% of its purchases come from %s customers in %s",
                                     100 * segment_share, segment, region)});
  }
  // What performs on the platform: hashtags and caption angles, each cited by its best posts.
  PlatformPerformance performance = AnalyzePlatform(posts);
  std::map<std::string, std::string> angle_examples;
  {
    absl::flat_hash_map<std::string, const CampaignPost*> by_id;
    for (const CampaignPost& p : posts) by_id[p.id] = &p;
    std::set<std::string> cited_posts;
    for (const auto& [influencer, rate, post] : top_influencers) cited_posts.insert(post);
    // The best post of `perf` not cited yet (a post is cited once, for its first fact).
    auto cite = [&](const Performance& perf) {
      for (const std::string& id : perf.post_ids) {
        if (cited_posts.insert(id).second) return id;
      }
      return perf.post_ids.empty() ? std::string() : perf.post_ids[0];
    };
    for (const Performance& a : performance.angles) {
      const std::string id = cite(a);
      const auto post = by_id.find(id);  // the example is the cited post's own opening
      const std::string example = post != by_id.end() ? FirstLine(post->second->caption) : "";
      angle_examples[a.key] = example;
      facts.push_back(
          {"campaign_post", id,
           absl::StrFormat("%s captions: %d %s posts by %d creators get %.1fx their creators' usual "
                           "engagement (mean %.1f%%)%s",
                           AngleName(a.key), a.posts, platform, a.creators, a.lift, 100 * a.mean_rate,
                           example.empty() ? "" : absl::StrCat(", e.g. \"", example, "\""))});
    }
    for (const Performance& t : performance.hashtags) {
      facts.push_back({"campaign_post", cite(t),
                       absl::StrFormat("#%s: %d %s posts by %d creators get %.1fx their creators' usual "
                                       "engagement (mean %.1f%%)",
                                       t.key, t.posts, platform, t.creators, t.lift, 100 * t.mean_rate)});
    }
  }

  auto context = std::make_shared<BriefContext>();
  context->name = name;
  context->brand = brand;
  context->category = product.category;
  context->platform = platform;
  context->goal = req.goal();
  context->rating = product.rating;
  context->reviews = product.reviews;
  context->praised = praised;
  context->issues = issues;
  context->quotes = quotes;
  context->platform_posts = platform_posts;
  context->platform_er = platform_er;
  context->overall_er = overall_er;
  context->top_influencers = top_influencers;
  context->segment = segment;
  context->region = region;
  context->segment_share = segment_share;
  context->performance = performance;
  context->angle_examples = angle_examples;
  context->facts = facts;
  ASSIGN_OR_RETURN(auto answer, Ask(llm_, local_.get(), prompts_, "generate_brief",
                                    {{"brand", brand},
                                     {"product", name},
                                     {"goal", req.goal()},
                                     {"platform", platform},
                                     {"facts", FactLines(facts)}},
                                    std::move(context), llm::BriefSchema(), facts, /*need_citation=*/false,
                                    deadline, metrics_));
  const google::protobuf::Struct& v = answer.value;
  out->set_caption(llm::GetString(v, "caption"));
  for (const auto& h : llm::GetStrings(v, "hooks")) out->add_hooks(h);
  for (const auto& h : llm::GetStrings(v, "hashtags")) out->add_hashtags(h);
  out->set_call_to_action(llm::GetString(v, "call_to_action"));
  out->set_tone(llm::GetString(v, "tone"));
  out->set_persona(llm::GetString(v, "persona"));
  for (const auto& t : llm::GetStrings(v, "talking_points")) out->add_talking_points(t);
  std::set<std::string> seen;
  for (const Fact* f : answer.cited) AddCitation(*f, out->mutable_citations(), &seen);
  out->set_backend(answer.backend);
  out->set_brief(absl::StrCat(out->caption(), "\n\nHooks:\n- ", absl::StrJoin(out->hooks(), "\n- "),
                              "\n\nTalking points:\n- ", absl::StrJoin(out->talking_points(), "\n- "),
                              "\n\nCall to action: ", out->call_to_action(), "\nTone: ", out->tone(),
                              "\nAudience: ", out->persona(), "\n", absl::StrJoin(out->hashtags(), " ")));
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer::rag
