#include "services/analyzer/rag/content_service.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/logging/log.h"
#include "pqxx/pqxx"
#include "services/analyzer/insights/store.h"
#include "services/analyzer/llm/json_schema.h"
#include "services/analyzer/rag/bm25.h"

namespace marketlens::analyzer::rag {
namespace {

using postgres::Tx;

constexpr size_t kMaxFacts = 40;

struct Contact {
  std::string id, channel, topic, notes, product_id, product_title;
  int64_t micros = 0;
  bool has_sentiment = false;
  double sentiment = 0;
};
struct Review {
  std::string id, product_id, product_title, title, text;
  int rating = 0;
  int64_t micros = 0;
};
struct Activity {
  std::string product_id, title, category, last_id;
  int views = 0, carts = 0, purchases = 0;
  int64_t last_micros = 0;
};
struct Customer {
  std::string id, name, segment, region;
  int64_t contacts_total = 0, shop_interactions = 0, reviews_total = 0;
  std::vector<Contact> contacts;   // newest first
  std::vector<Review> reviews;     // newest first
  std::vector<Activity> activity;  // most recent first
};

// A retrieved row that text may use, with the id it is cited by.
struct Fact {
  std::string source, id, text;
};

postgres::TxOptions ReadTx(absl::Time deadline) {
  postgres::TxOptions o;
  o.read_only = true;
  o.timeout = std::max(absl::Milliseconds(1), deadline - absl::Now());
  return o;
}

std::string Date(int64_t micros) {
  return absl::FormatTime("%B %-d, %Y", absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

std::string FirstName(const std::string& name) {
  const std::string trimmed(absl::StripAsciiWhitespace(name));
  if (trimmed.empty()) return "there";
  return std::string(trimmed.substr(0, trimmed.find(' ')));
}

std::string Excerpt(absl::string_view text, size_t max = 160) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() <= max) return std::string(text);
  size_t cut = text.rfind(' ', max);
  if (cut == absl::string_view::npos || cut < max / 2) cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(text.substr(0, cut), "...");
}

// The first sentence of `text` that mentions one of `terms` (earlier terms first), else its longest
// sentence (a one-word title such as "Great" says nothing).
std::string SentenceAbout(absl::string_view text, const std::vector<std::string>& terms) {
  std::vector<absl::string_view> sentences =
      absl::StrSplit(text, absl::ByAnyChar(".!?\n"), absl::SkipWhitespace());
  for (const std::string& term : terms) {
    for (absl::string_view s : sentences) {
      if (!term.empty() && absl::StrContains(absl::AsciiStrToLower(s), absl::AsciiStrToLower(term))) {
        return Excerpt(absl::StripAsciiWhitespace(s), 140);
      }
    }
  }
  absl::string_view longest;
  for (absl::string_view s : sentences) {
    if (absl::StripAsciiWhitespace(s).size() > longest.size()) longest = absl::StripAsciiWhitespace(s);
  }
  return Excerpt(longest, 140);
}

std::string Plural(int64_t n, const std::string& one, const std::string& many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::string JoinAnd(const std::vector<std::string>& items) {
  if (items.empty()) return "";
  if (items.size() == 1) return items[0];
  return absl::StrCat(absl::StrJoin(items.begin(), items.end() - 1, ", "), " and ", items.back());
}

std::string Humanize(const std::string& aspect) {
  std::string out = aspect;
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

void AddCitation(const Fact& f, google::protobuf::RepeatedPtrField<v1::Citation>* out,
                 std::set<std::string>* seen) {
  if (!seen->insert(f.source + ":" + f.id).second) return;
  auto* c = out->Add();
  c->set_source(f.source);
  c->set_id(f.id);
  c->set_excerpt(Excerpt(f.text, 200));
}

std::string FactLines(const std::vector<Fact>& facts) {
  std::string out;
  for (size_t i = 0; i < facts.size() && i < kMaxFacts; ++i) {
    absl::StrAppend(&out, "[", facts[i].source, ":", facts[i].id, "] ", facts[i].text, "\n");
  }
  return out;
}

// Maps an LLM's cited ids ("contact:c1" or "c1") onto the facts; false when it cites anything else.
bool ResolveCitations(const std::vector<std::string>& cited, const std::vector<Fact>& facts,
                      std::vector<const Fact*>* out) {
  for (const std::string& c : cited) {
    const Fact* found = nullptr;
    for (const Fact& f : facts) {
      if (c == f.source + ":" + f.id || c == f.id) {
        found = &f;
        break;
      }
    }
    if (found == nullptr) return false;
    out->push_back(found);
  }
  return true;
}

absl::StatusOr<Customer> LoadCustomer(postgres::PgPool* pool, const std::string& id, absl::Time deadline) {
  Customer c;
  c.id = id;
  bool known = false;
  absl::Status st = pool->Transact(
      [&](Tx& tx) -> absl::Status {
        c = Customer();
        c.id = id;
        auto cust = tx.Exec("SELECT name, segment, region FROM raw.customers WHERE id = $1", id);
        if (!cust.ok()) return cust.status();
        known = !cust->empty();
        if (known) {
          c.name = (*cust)[0][0].as<std::string>();
          c.segment = (*cust)[0][1].as<std::string>();
          c.region = (*cust)[0][2].as<std::string>();
        }
        auto contacts = tx.Exec(
            "SELECT k.id, (extract(epoch FROM k.started_at) * 1000000)::bigint, k.channel, k.topic, "
            "k.sentiment,"
            " k.notes, k.product_id, COALESCE(p.title, ''), count(*) OVER ()"
            " FROM raw.contacts k LEFT JOIN raw.products p ON p.id = k.product_id"
            " WHERE k.customer_id = $1 ORDER BY k.started_at DESC, k.id LIMIT 200",
            id);
        if (!contacts.ok()) return contacts.status();
        for (const auto& row : *contacts) {
          Contact k;
          k.id = row[0].as<std::string>();
          k.micros = row[1].as<int64_t>();
          k.channel = row[2].as<std::string>();
          k.topic = row[3].as<std::string>();
          k.has_sentiment = !row[4].is_null();
          if (k.has_sentiment) k.sentiment = row[4].as<double>();
          k.notes = row[5].as<std::string>();
          k.product_id = row[6].as<std::string>();
          k.product_title = row[7].as<std::string>();
          c.contacts_total = row[8].as<int64_t>();
          c.contacts.push_back(std::move(k));
        }
        auto reviews = tx.Exec(
            "SELECT r.id, r.product_id, COALESCE(p.title, ''), r.rating, r.title, r.text,"
            " (extract(epoch FROM r.created_at) * 1000000)::bigint, count(*) OVER ()"
            " FROM raw.reviews r LEFT JOIN raw.products p ON p.id = r.product_id"
            " WHERE r.customer_id = $1 ORDER BY r.created_at DESC, r.id LIMIT 20",
            id);
        if (!reviews.ok()) return reviews.status();
        for (const auto& row : *reviews) {
          Review r;
          r.id = row[0].as<std::string>();
          r.product_id = row[1].as<std::string>();
          r.product_title = row[2].as<std::string>();
          r.rating = row[3].as<int>();
          r.title = row[4].as<std::string>();
          r.text = row[5].as<std::string>();
          r.micros = row[6].as<int64_t>();
          c.reviews_total = row[7].as<int64_t>();
          c.reviews.push_back(std::move(r));
        }
        auto activity = tx.Exec(
            "SELECT i.product_id, COALESCE(p.title, ''), COALESCE(p.category, ''),"
            " count(*) FILTER (WHERE i.type = 'view'), count(*) FILTER (WHERE i.type = 'add_to_cart'),"
            " count(*) FILTER (WHERE i.type = 'purchase'), (extract(epoch FROM max(i.occurred_at)) * "
            "1000000)::bigint,"
            " (array_agg(i.id ORDER BY i.occurred_at DESC))[1], sum(count(*)) OVER ()"
            " FROM raw.interactions i LEFT JOIN raw.products p ON p.id = i.product_id"
            " WHERE i.customer_id = $1 GROUP BY i.product_id, p.title, p.category"
            " ORDER BY max(i.occurred_at) DESC LIMIT 20",
            id);
        if (!activity.ok()) return activity.status();
        for (const auto& row : *activity) {
          Activity a;
          a.product_id = row[0].as<std::string>();
          a.title = row[1].as<std::string>();
          a.category = row[2].as<std::string>();
          a.views = row[3].as<int>();
          a.carts = row[4].as<int>();
          a.purchases = row[5].as<int>();
          a.last_micros = row[6].as<int64_t>();
          a.last_id = row[7].as<std::string>();
          c.shop_interactions = row[8].as<int64_t>();
          c.activity.push_back(std::move(a));
        }
        return absl::OkStatus();
      },
      ReadTx(deadline));
  if (!st.ok()) return st;
  if (!known && c.contacts.empty() && c.reviews.empty() && c.activity.empty()) {
    return absl::NotFoundError(absl::StrCat("customer ", id, " not found"));
  }
  return c;
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

std::string ShortTitle(absl::string_view title) {
  size_t cut = title.size();
  for (absl::string_view sep : {",", " - ", " | ", " ("}) {
    const size_t at = title.find(sep);
    if (at != absl::string_view::npos && at > 0) cut = std::min(cut, at);
  }
  std::string out(absl::StripAsciiWhitespace(title.substr(0, cut)));
  if (out.size() > 60) out = Excerpt(out, 60);
  return out.empty() ? "product" : out;
}

GroundedContent::GroundedContent(postgres::PgPool* pool, const Engine* engine, llm::StructuredLlm* llm,
                                 const llm::PromptLibrary* prompts, RecommendFn recommend,
                                 AnalyzerMetrics* metrics)
    : pool_(pool),
      engine_(engine),
      llm_(llm),
      prompts_(prompts),
      recommend_(std::move(recommend)),
      metrics_(metrics) {}

// ---- SummarizeInteractions -----------------------------------------------------------------------------

absl::Status GroundedContent::SummarizeInteractions(const v1::SummarizeInteractionsRequest& req,
                                                    absl::Time deadline,
                                                    v1::SummarizeInteractionsResponse* out) {
  if (pool_ == nullptr) return absl::UnavailableError("no database configured");
  auto loaded = LoadCustomer(pool_, req.customer_id(), deadline);
  if (!loaded.ok()) return loaded.status();
  const Customer& c = *loaded;
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

  // Retrieval: the rows most relevant to the customer's recurring topics.
  std::vector<Document> docs;
  for (const Contact& k : c.contacts)
    docs.push_back({k.id, "contact", absl::StrCat(k.topic, ". ", k.product_title, ". ", k.notes)});
  for (const Review& r : c.reviews)
    docs.push_back({r.id, "review", absl::StrCat(r.title, ". ", r.text, ". ", r.product_title)});
  Bm25Index index(docs);
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
  for (const Hit& h : index.Search(absl::StrJoin(key_topics, " "), 6)) {
    const Document& d = index.docs()[h.doc];
    if (d.source == "contact") {
      for (const Contact& k : c.contacts) {
        if (k.id == d.id) add_contact(k);
      }
    } else if (used.insert("review:" + d.id).second) {
      for (const Review& r : c.reviews) {
        if (r.id == d.id) facts.push_back({"review", r.id, ReviewFact(r)});
      }
    }
  }
  if (!c.reviews.empty() && used.insert("review:" + c.reviews.front().id).second) {
    facts.push_back({"review", c.reviews.front().id, ReviewFact(c.reviews.front())});
  }

  // The LLM, when configured and it answers within the rules.
  if (llm_ != nullptr && !facts.empty()) {
    auto tmpl = prompts_->Get("summarize_interactions");
    if (tmpl.ok()) {
      const std::string stats =
          absl::StrCat("[stats:", c.id, "] ", c.contacts_total, " customer-service contacts",
                       channel_rank.empty() ? "" : absl::StrCat(", most often by ", channel_rank[0].first),
                       "; ", c.shop_interactions, " shop interactions; ", c.reviews_total,
                       " reviews; mean sentiment ", absl::StrFormat("%.2f", sentiment));
      auto prompt =
          (*tmpl)->Render({{"customer", absl::StrCat(c.name.empty() ? c.id : c.name, " (", c.id, ")")},
                           {"facts", stats + "\n" + FactLines(facts)}});
      if (prompt.ok()) {
        std::vector<Fact> citable = facts;
        citable.push_back({"stats", c.id, stats});
        auto r = llm_->Call(*prompt, llm::SummarySchema(), deadline);
        std::vector<const Fact*> cited;
        if (r.ok() && ResolveCitations(llm::GetStrings(r->value, "cited_ids"), citable, &cited)) {
          out->set_summary(llm::GetString(r->value, "summary"));
          for (const auto& t : llm::GetStrings(r->value, "key_topics")) out->add_key_topics(t);
          std::set<std::string> seen;
          for (const Fact* f : cited) AddCitation(*f, out->mutable_citations(), &seen);
          out->set_backend(r->backend);
          return absl::OkStatus();
        }
        metrics_->llm_fallbacks(r.ok() ? "ungrounded" : "error").Increment();
      }
    }
  }

  // The local engine: sentences filled only with the figures and rows above.
  std::vector<std::string> sentences;
  std::set<std::string> seen;
  const std::string who = c.name.empty() ? absl::StrCat("Customer ", c.id) : c.name;
  if (c.contacts_total == 0) {
    sentences.push_back(absl::StrCat(who, " has no customer-service contacts on record."));
  } else {
    sentences.push_back(absl::StrCat(who, " has contacted us ", Plural(c.contacts_total, "time", "times"),
                                     ", most often by ", channel_rank[0].first, " (",
                                     channel_rank[0].second.first, " of ", c.contacts.size(), ")."));
    std::string s = absl::StrCat("The last contact was by ", last->channel, " on ", Date(last->micros));
    if (!last->topic.empty()) absl::StrAppend(&s, " about \"", last->topic, "\"");
    if (!last->product_title.empty()) absl::StrAppend(&s, " regarding the ", ShortTitle(last->product_title));
    sentences.push_back(s + ".");
    if (key_topics.size() > 1) {
      std::vector<std::string> quoted;
      for (const auto& t : key_topics) quoted.push_back(absl::StrCat("\"", t, "\""));
      sentences.push_back(absl::StrCat("Recurring topics: ", JoinAnd(quoted), "."));
    }
    if (!last->notes.empty()) sentences.push_back(absl::StrCat("Latest note: ", Excerpt(last->notes, 200)));
  }
  if (c.reviews_total > 0) {
    const Review& r = c.reviews.front();
    sentences.push_back(absl::StrCat(who, " has written ", Plural(c.reviews_total, "review", "reviews"),
                                     "; the latest gives the ", ShortTitle(r.product_title), " ", r.rating,
                                     " of 5 stars."));
  }
  if (c.shop_interactions > 0) {
    sentences.push_back(absl::StrCat(
        "They have ", Plural(c.shop_interactions, "shop interaction", "shop interactions"), " on record."));
  }
  if (sentiment_n > 0) {
    sentences.push_back(absl::StrCat("Overall sentiment is ", out->sentiment(), " (",
                                     absl::StrFormat("%.2f", sentiment), " on a -1 to 1 scale)."));
  }
  out->set_summary(absl::StrJoin(sentences, " "));
  for (const auto& t : key_topics) out->add_key_topics(t);
  for (const Fact& f : facts) AddCitation(f, out->mutable_citations(), &seen);
  out->set_backend("local");
  return absl::OkStatus();
}

// ---- GenerateContent -----------------------------------------------------------------------------------

absl::Status GroundedContent::GenerateContent(const v1::GenerateContentRequest& req, absl::Time deadline,
                                              v1::GenerateContentResponse* out) {
  if (pool_ == nullptr) return absl::UnavailableError("no database configured");
  auto loaded = LoadCustomer(pool_, req.customer_id(), deadline);
  if (!loaded.ok()) return loaded.status();
  const Customer& c = *loaded;
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
  // What reviewers praise about it: the product's insights, and the review that best says so (BM25).
  std::vector<std::string> praised;
  std::string quote, quote_id;
  double rating = 0;
  int review_count = 0;
  if (anchor != nullptr) {
    facts.push_back({"interaction", anchor->last_id,
                     absl::StrCat(bought ? "bought" : (anchor->carts > 0 ? "added to cart" : "viewed"), " ",
                                  ShortTitle(anchor->title), " on ", Date(anchor->last_micros))});
    absl::Status st = pool_->Transact(
        [&](Tx& tx) -> absl::Status {
          praised.clear();
          auto s = tx.Exec(
              "SELECT average_rating, review_count, features::text FROM insights.product_summary"
              " WHERE product_id = $1",
              anchor->product_id);
          if (!s.ok()) return s.status();
          if (!s->empty()) {
            rating = (*s)[0][0].as<double>();
            review_count = (*s)[0][1].as<int>();
            auto features = llm::ParseJsonObject(absl::StrCat("{\"f\":", (*s)[0][2].as<std::string>(), "}"));
            if (features.ok()) {
              for (const auto& f : llm::GetObjects(*features, "f")) {
                if (llm::GetNumber(f, "polarity") >= 0.3 && llm::GetNumber(f, "mentions") >= 2 &&
                    praised.size() < 2) {
                  praised.push_back(llm::GetString(f, "aspect"));
                }
              }
            }
          }
          auto reviews = tx.Exec(
              "SELECT id, title, text FROM raw.reviews WHERE product_id = $1 AND rating >= 4"
              " ORDER BY created_at DESC LIMIT 200",
              anchor->product_id);
          if (!reviews.ok()) return reviews.status();
          std::vector<Document> docs;
          for (const auto& row : *reviews) {
            docs.push_back({row[0].as<std::string>(), "review",
                            absl::StrCat(row[1].as<std::string>(), ". ", row[2].as<std::string>())});
          }
          Bm25Index index(docs);
          std::vector<std::string> query_terms;
          for (const auto& p : praised) query_terms.push_back(Humanize(p));
          auto hits = index.Search(query_terms.empty() ? "love great" : absl::StrJoin(query_terms, " "), 1);
          if (!hits.empty()) {
            const Document& d = index.docs()[hits[0].doc];
            quote_id = d.id;
            quote = SentenceAbout(d.text, query_terms);
          }
          return absl::OkStatus();
        },
        ReadTx(deadline));
    if (!st.ok()) return st;
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
      absl::flat_hash_map<std::string, std::string> titles;
      (void)pool_->Transact(
          [&](Tx& tx) -> absl::Status {
            auto rows =
                tx.Exec("SELECT id, title FROM raw.products WHERE id = ANY($1::text[])", PgTextArray(ids));
            if (!rows.ok()) return rows.status();
            for (const auto& row : *rows) titles[row[0].as<std::string>()] = row[1].as<std::string>();
            return absl::OkStatus();
          },
          ReadTx(deadline));
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

  if (llm_ != nullptr && !facts.empty()) {
    auto tmpl = prompts_->Get("generate_content");
    if (tmpl.ok()) {
      auto prompt =
          (*tmpl)->Render({{"customer", absl::StrCat(c.name.empty() ? c.id : c.name, " (", c.id, ")",
                                                     c.segment.empty() ? "" : ", segment " + c.segment)},
                           {"facts", FactLines(facts)}});
      if (prompt.ok()) {
        auto r = llm_->Call(*prompt, llm::EmailSchema(), deadline);
        std::vector<const Fact*> cited;
        if (r.ok() && ResolveCitations(llm::GetStrings(r->value, "cited_ids"), facts, &cited) &&
            !cited.empty()) {
          out->set_subject(llm::GetString(r->value, "subject"));
          out->set_body(llm::GetString(r->value, "body"));
          std::set<std::string> seen;
          for (const Fact* f : cited) AddCitation(*f, out->mutable_citations(), &seen);
          out->set_backend(r->backend);
          return absl::OkStatus();
        }
        metrics_->llm_fallbacks(r.ok() ? "ungrounded" : "error").Increment();
      }
    }
  }

  // Local: every sentence is one retrieved fact.
  const std::string first = FirstName(c.name);
  std::vector<std::string> paragraphs;
  std::set<std::string> seen;
  if (complaint != nullptr) {
    std::string s =
        absl::StrCat("We're sorry about the ", complaint->topic.empty() ? "trouble" : complaint->topic);
    if (!complaint->product_title.empty())
      absl::StrAppend(&s, " with your ", ShortTitle(complaint->product_title));
    absl::StrAppend(
        &s, " you told us about on ", Date(complaint->micros),
        ". Thank you for your patience, and just reply to this email if anything is still not right.");
    paragraphs.push_back(s);
  }
  std::string subject;
  if (anchor != nullptr) {
    const std::string name = ShortTitle(anchor->title);
    subject = bought ? absl::StrCat(first, ", how is your ", name, " working out?")
                     : absl::StrCat(first, ", still thinking about the ", name, "?");
    std::string p = bought ? absl::StrCat("We hope you're enjoying the ", name, ".")
                           : absl::StrCat("We noticed you were looking at the ", name, ".");
    if (review_count > 0) {
      absl::StrAppend(&p, absl::StrFormat(" It's rated %.1f out of 5 by %d reviewers", rating, review_count));
      if (!praised.empty()) {
        std::vector<std::string> h;
        for (const auto& x : praised) h.push_back(Humanize(x));
        absl::StrAppend(&p, ", who especially like the ", JoinAnd(h));
      }
      p += ".";
    }
    if (!quote.empty()) absl::StrAppend(&p, " As one customer put it: \"", quote, "\"");
    paragraphs.push_back(p);
  }
  if (!picks.empty()) {
    std::vector<std::string> names;
    for (const auto& [r, title] : picks) names.push_back(ShortTitle(title));
    paragraphs.push_back(absl::StrCat("You might also like the ", JoinAnd(names), "."));
    if (subject.empty()) subject = absl::StrCat(first, ", picked for you: the ", ShortTitle(picks[0].second));
  }
  if (subject.empty()) subject = absl::StrCat(first, ", thank you for shopping with us");
  if (paragraphs.empty()) paragraphs.push_back("Thank you for being part of our community.");
  out->set_subject(subject);
  out->set_body(absl::StrCat("Hi ", first, ",\n\n", absl::StrJoin(paragraphs, "\n\n"),
                             "\n\nBest wishes,\nThe marketlens shop team"));
  for (const Fact& f : facts) AddCitation(f, out->mutable_citations(), &seen);
  out->set_backend("local");
  return absl::OkStatus();
}

// ---- GenerateBrief -------------------------------------------------------------------------------------

absl::Status GroundedContent::GenerateBrief(const v1::GenerateBriefRequest& req, absl::Time deadline,
                                            v1::GenerateBriefResponse* out) {
  if (pool_ == nullptr) return absl::UnavailableError("no database configured");
  const std::string platform = absl::AsciiStrToLower(req.platform().empty() ? "instagram" : req.platform());
  struct Product {
    std::string id, title, brand, category;
    double rating = 0;
    int reviews = 0;
  } product;
  std::vector<std::pair<std::string, std::pair<int, double>>> praised;  // aspect -> (mentions, polarity)
  std::vector<std::pair<std::string, double>> issues;                   // category -> share
  std::vector<Fact> facts;
  std::vector<std::pair<std::string, std::string>> quotes;  // (review id, sentence)
  double platform_er = -1, overall_er = -1;
  int platform_posts = 0;
  std::vector<std::tuple<std::string, double, std::string>> top_influencers;  // (name, er, best post id)
  std::string segment, region;
  double segment_share = 0;
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        facts.clear();
        praised.clear();
        issues.clear();
        quotes.clear();
        top_influencers.clear();
        // The product: the best match of title (and brand) with the most reviews.
        auto p = tx.Exec(
            "SELECT p.id, p.title, p.brand, p.category, COALESCE(s.average_rating, 0), "
            "COALESCE(s.review_count, 0),"
            " COALESCE(s.features::text, '[]'), COALESCE(s.issues::text, '[]')"
            " FROM raw.products p LEFT JOIN insights.product_summary s ON s.product_id = p.id"
            " WHERE ($1 = '' OR p.title ILIKE '%' || $1 || '%' OR p.id = $1) AND ($2 = '' OR p.brand ILIKE "
            "$2)"
            " ORDER BY (p.id = $1) DESC, COALESCE(s.review_count, 0) DESC, p.id LIMIT 1",
            req.product(), req.brand());
        if (!p.ok()) return p.status();
        if (!p->empty()) {
          const auto& row = (*p)[0];
          product = {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     row[3].as<std::string>(), row[4].as<double>(),      row[5].as<int>()};
          auto parsed = llm::ParseJsonObject(
              absl::StrCat("{\"f\":", row[6].as<std::string>(), ",\"i\":", row[7].as<std::string>(), "}"));
          if (parsed.ok()) {
            for (const auto& f : llm::GetObjects(*parsed, "f")) {
              if (llm::GetNumber(f, "polarity") >= 0.3 && llm::GetNumber(f, "mentions") >= 2 &&
                  praised.size() < 3) {
                praised.push_back(
                    {llm::GetString(f, "aspect"),
                     {static_cast<int>(llm::GetNumber(f, "mentions")), llm::GetNumber(f, "polarity")}});
              }
            }
            for (const auto& i : llm::GetObjects(*parsed, "i")) {
              if (issues.size() < 2 && llm::GetNumber(i, "share") >= 0.03) {
                issues.push_back({llm::GetString(i, "category"), llm::GetNumber(i, "share")});
              }
            }
          }
          // Reviewer quotes about the praised aspects (BM25 over the product's good reviews).
          auto reviews = tx.Exec(
              "SELECT id, title, text FROM raw.reviews WHERE product_id = $1 AND rating >= 4"
              " ORDER BY created_at DESC LIMIT 300",
              product.id);
          if (!reviews.ok()) return reviews.status();
          std::vector<Document> docs;
          for (const auto& r : *reviews) {
            docs.push_back({r[0].as<std::string>(), "review",
                            absl::StrCat(r[1].as<std::string>(), ". ", r[2].as<std::string>())});
          }
          Bm25Index index(docs);
          std::set<std::string> used;
          for (const auto& [aspect, stats] : praised) {
            for (const Hit& h : index.Search(Humanize(aspect), 3)) {
              const Document& d = index.docs()[h.doc];
              if (!used.insert(d.id).second) continue;
              quotes.push_back({d.id, SentenceAbout(d.text, {Humanize(aspect)})});
              break;
            }
          }
          // Who buys it.
          auto seg = tx.Exec(
              "SELECT c.segment, c.region, count(*)::float8 / sum(count(*)) OVER () FROM raw.interactions i"
              " JOIN raw.customers c ON c.id = i.customer_id WHERE i.product_id = $1 AND i.type = 'purchase'"
              " GROUP BY c.segment, c.region ORDER BY count(*) DESC, c.segment LIMIT 1",
              product.id);
          if (!seg.ok()) return seg.status();
          if (!seg->empty()) {
            segment = (*seg)[0][0].as<std::string>();
            region = (*seg)[0][1].as<std::string>();
            segment_share = (*seg)[0][2].as<double>();
          }
        }
        // What performs on the platform (campaign posts).
        auto er = tx.Exec(
            "SELECT COALESCE(sum(likes + comments + shares) FILTER (WHERE lower(platform) = $1)::float8"
            "   / NULLIF(sum(views) FILTER (WHERE lower(platform) = $1), 0), -1),"
            " COALESCE(sum(likes + comments + shares)::float8 / NULLIF(sum(views), 0), -1),"
            " count(*) FILTER (WHERE lower(platform) = $1) FROM raw.campaign_posts",
            platform);
        if (!er.ok()) return er.status();
        platform_er = (*er)[0][0].as<double>();
        overall_er = (*er)[0][1].as<double>();
        platform_posts = (*er)[0][2].as<int>();
        auto inf = tx.Exec(
            "SELECT influencer, sum(likes + comments + shares)::float8 / NULLIF(sum(views), 0) AS er,"
            " (array_agg(id ORDER BY COALESCE(engagement_rate, 0) DESC))[1]"
            " FROM raw.campaign_posts WHERE lower(platform) = $1 GROUP BY influencer HAVING sum(views) > 0"
            " ORDER BY er DESC, influencer LIMIT 3",
            platform);
        if (!inf.ok()) return inf.status();
        for (const auto& row : *inf) {
          top_influencers.emplace_back(row[0].as<std::string>(), row[1].as<double>(),
                                       row[2].as<std::string>());
        }
        return absl::OkStatus();
      },
      ReadTx(deadline));
  if (!st.ok()) return st;

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
  // Facts are deduplicated by (source, id) for citations only; the LLM sees them all.
  if (llm_ != nullptr && !facts.empty()) {
    auto tmpl = prompts_->Get("generate_brief");
    if (tmpl.ok()) {
      auto prompt = (*tmpl)->Render({{"brand", brand},
                                     {"product", name},
                                     {"goal", req.goal()},
                                     {"platform", platform},
                                     {"facts", FactLines(facts)}});
      if (prompt.ok()) {
        auto r = llm_->Call(*prompt, llm::BriefSchema(), deadline);
        std::vector<const Fact*> cited;
        if (r.ok() && ResolveCitations(llm::GetStrings(r->value, "cited_ids"), facts, &cited)) {
          out->set_caption(llm::GetString(r->value, "caption"));
          for (const auto& h : llm::GetStrings(r->value, "hooks")) out->add_hooks(h);
          for (const auto& h : llm::GetStrings(r->value, "hashtags")) out->add_hashtags(h);
          out->set_call_to_action(llm::GetString(r->value, "call_to_action"));
          out->set_tone(llm::GetString(r->value, "tone"));
          out->set_persona(llm::GetString(r->value, "persona"));
          for (const auto& t : llm::GetStrings(r->value, "talking_points")) out->add_talking_points(t);
          std::set<std::string> seen;
          for (const Fact* f : cited) AddCitation(*f, out->mutable_citations(), &seen);
          out->set_backend(r->backend);
          out->set_brief(absl::StrCat(out->caption(), "\n\nHooks:\n- ", absl::StrJoin(out->hooks(), "\n- "),
                                      "\n\nTalking points:\n- ", absl::StrJoin(out->talking_points(), "\n- "),
                                      "\n\nCall to action: ", out->call_to_action(), "\nTone: ", out->tone(),
                                      "\nAudience: ", out->persona(), "\n",
                                      absl::StrJoin(out->hashtags(), " ")));
          return absl::OkStatus();
        }
        metrics_->llm_fallbacks(r.ok() ? "ungrounded" : "error").Increment();
      }
    }
  }

  // Local.
  const std::string goal = absl::AsciiStrToLower(req.goal());
  std::vector<std::string> praised_names;
  for (const auto& [a, s] : praised) praised_names.push_back(Humanize(a));
  if (!quotes.empty()) {
    out->set_caption(absl::StrCat(
        "\"", quotes[0].second, "\" - a real ", name, " review. ",
        praised_names.empty() ? "" : absl::StrCat("Loved for its ", JoinAnd(praised_names), ". "), "By ",
        brand, "."));
  } else {
    out->set_caption(absl::StrCat("Meet the ", name, " by ", brand, "."));
  }
  for (size_t i = 0; i < praised.size() && out->hooks_size() < 2; ++i) {
    out->add_hooks(absl::StrCat(praised[i].second.first, " reviewers mention the ",
                                Humanize(praised[i].first), ". Here's why."));
  }
  if (product.reviews > 0) {
    out->add_hooks(absl::StrFormat("%.1f stars from %d reviews: does the %s live up to it?", product.rating,
                                   product.reviews, name));
  }
  if (out->hooks_size() < 3 && !quotes.empty())
    out->add_hooks(absl::StrCat("\"", quotes.back().second, "\""));
  if (out->hooks_size() == 0) out->add_hooks(absl::StrCat("First look: the ", name, " by ", brand));
  // Hashtags from our own data: brand, product, category, praised aspects.
  auto tag = [](const std::string& text) {
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
  };
  std::set<std::string> tags_seen;
  for (const std::string& t : {tag(brand), tag(name), tag(product.category)}) {
    if (!t.empty() && tags_seen.insert(absl::AsciiStrToLower(t)).second) out->add_hashtags(t);
  }
  for (const auto& a : praised_names) {
    const std::string t = tag(a);
    if (!t.empty() && tags_seen.insert(absl::AsciiStrToLower(t)).second) out->add_hashtags(t);
  }
  if (absl::StrContains(goal, "aware") || absl::StrContains(goal, "reach")) {
    out->set_call_to_action(
        absl::StrCat("Follow ", brand, " and share this with someone who needs a ", name, "."));
  } else if (absl::StrContains(goal, "sale") || absl::StrContains(goal, "conver") ||
             absl::StrContains(goal, "launch")) {
    out->set_call_to_action(absl::StrCat("Tap the link to get the ", name, " today."));
  } else {
    out->set_call_to_action(absl::StrCat("Try the ", name, " and tell us what you think in the comments."));
  }
  static const std::map<std::string, std::string> kTone = {{"tiktok", "playful, fast-paced, first-person"},
                                                           {"instagram", "aspirational, visual, warm"},
                                                           {"youtube", "in-depth, honest, hands-on"},
                                                           {"pinterest", "inspirational, practical how-to"},
                                                           {"x", "punchy, conversational"}};
  auto tone = kTone.find(platform);
  out->set_tone(tone != kTone.end() ? tone->second : "friendly and authentic");
  if (!segment.empty()) {
    out->set_persona(absl::StrFormat("%s customers in %s, who make %.0f%% of the %s's purchases", segment,
                                     region, 100 * segment_share, name));
  } else if (!product.category.empty()) {
    out->set_persona(absl::StrCat("Shoppers browsing ", product.category));
  } else {
    out->set_persona("Shoppers new to the brand");
  }
  for (const auto& [a, s] : praised) {
    out->add_talking_points(absl::StrFormat(
        "Lead with the %s: %d reviewers mention it, overwhelmingly positively.", Humanize(a), s.first));
  }
  for (const auto& [category, share] : issues) {
    out->add_talking_points(absl::StrFormat("Don't overpromise on %s: %.0f%% of reviews raise it.",
                                            Humanize(category), 100 * share));
  }
  if (platform_posts > 0) {
    out->add_talking_points(absl::StrFormat(
        "On %s our campaign posts average %.1f%% engagement (%.1f%% across platforms)%s.", platform,
        100 * platform_er, 100 * overall_er,
        top_influencers.empty() ? ""
                                : absl::StrFormat("; %s leads with %.1f%%", std::get<0>(top_influencers[0]),
                                                  100 * std::get<1>(top_influencers[0]))));
  }
  if (!req.goal().empty()) out->add_talking_points(absl::StrCat("Campaign goal: ", req.goal(), "."));
  out->set_brief(absl::StrCat(out->caption(), "\n\nHooks:\n- ", absl::StrJoin(out->hooks(), "\n- "),
                              "\n\nTalking points:\n- ", absl::StrJoin(out->talking_points(), "\n- "),
                              "\n\nCall to action: ", out->call_to_action(), "\nTone: ", out->tone(),
                              "\nAudience: ", out->persona(), "\n", absl::StrJoin(out->hashtags(), " ")));
  std::set<std::string> seen;
  for (const Fact& f : facts) AddCitation(f, out->mutable_citations(), &seen);
  out->set_backend("local");
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer::rag
