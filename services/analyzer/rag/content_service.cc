#include "services/analyzer/rag/content_service.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/logging/log.h"
#include "common/privacy/person_rows.h"
#include "pqxx/pqxx"
#include "services/analyzer/insights/store.h"
#include "services/analyzer/llm/json_schema.h"
#include "services/analyzer/llm/local_backend.h"
#include "services/analyzer/rag/brief_tools.h"
#include "services/analyzer/rag/corpus_index.h"

namespace marketlens::analyzer::rag {
namespace {

using postgres::Tx;

constexpr size_t kMaxFacts = 40;
// The newest posts of a platform read to learn what performs there.
constexpr int kMaxBriefPosts = 10000;

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
  std::string occupation;              // from the marketplace or an ingested customers sheet
  std::vector<std::string> discussed;  // products of discussion in the months of their contacts
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

// The columns ContactFromRow and ReviewFromRow read, in order (k: raw.contacts, r: raw.reviews, p: the
// LEFT JOINed raw.products); any column after them is the caller's.
constexpr char kContactColumns[] =
    "k.id, (extract(epoch FROM k.started_at) * 1000000)::bigint, k.channel, k.topic, k.sentiment, k.notes,"
    " k.product_id, COALESCE(p.title, '')";
constexpr char kReviewColumns[] =
    "r.id, r.product_id, COALESCE(p.title, ''), r.rating, r.title, r.text,"
    " (extract(epoch FROM r.created_at) * 1000000)::bigint";

Contact ContactFromRow(const pqxx::row& row) {
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
  return k;
}

Review ReviewFromRow(const pqxx::row& row) {
  Review r;
  r.id = row[0].as<std::string>();
  r.product_id = row[1].as<std::string>();
  r.product_title = row[2].as<std::string>();
  r.rating = row[3].as<int>();
  r.title = row[4].as<std::string>();
  r.text = row[5].as<std::string>();
  r.micros = row[6].as<int64_t>();
  return r;
}

absl::StatusOr<Customer> LoadCustomer(postgres::PgPool* pool, const std::string& id, absl::Time deadline) {
  Customer c;
  c.id = id;
  bool known = false;
  absl::Status st = pool->Transact(
      [&](Tx& tx) -> absl::Status {
        c = Customer();
        c.id = id;
        // A forgotten person (privacy.tombstones) is unknown here even before every service erased them.
        auto erased = privacy::IsErased(tx, id);
        if (!erased.ok()) return erased.status();
        if (*erased) return absl::NotFoundError(absl::StrCat("customer ", id, " not found"));
        auto cust = tx.Exec("SELECT name, segment, region, occupation FROM raw.customers WHERE id = $1", id);
        if (!cust.ok()) return cust.status();
        known = !cust->empty();
        if (known) {
          c.name = (*cust)[0][0].as<std::string>();
          c.segment = (*cust)[0][1].as<std::string>();
          c.region = (*cust)[0][2].as<std::string>();
          c.occupation = (*cust)[0][3].as<std::string>();
        }
        // What was being discussed (raw.discussed_products) in the months this customer contacted us.
        auto discussed = tx.Exec(
            "SELECT COALESCE(NULLIF(d.product_id, ''), d.product) AS p FROM raw.discussed_products d"
            " WHERE d.month IN (SELECT DISTINCT date_trunc('month', k.started_at AT TIME ZONE 'UTC')::date"
            " FROM raw.contacts k WHERE k.customer_id = $1) GROUP BY p ORDER BY count(*) DESC, p LIMIT 5",
            id);
        if (!discussed.ok()) return discussed.status();
        for (const auto& row : *discussed) c.discussed.push_back(row[0].as<std::string>());
        auto contacts = tx.Exec(
            absl::StrCat(
                "SELECT ", kContactColumns,
                ", count(*) OVER () FROM raw.contacts k LEFT JOIN raw.products p ON p.id = k.product_id"
                " WHERE k.customer_id = $1 ORDER BY k.started_at DESC, k.id LIMIT 200"),
            id);
        if (!contacts.ok()) return contacts.status();
        for (const auto& row : *contacts) {
          c.contacts_total = row[8].as<int64_t>();
          c.contacts.push_back(ContactFromRow(row));
        }
        auto reviews = tx.Exec(
            absl::StrCat(
                "SELECT ", kReviewColumns,
                ", count(*) OVER () FROM raw.reviews r LEFT JOIN raw.products p ON p.id = r.product_id"
                " WHERE r.customer_id = $1 ORDER BY r.created_at DESC, r.id LIMIT 20"),
            id);
        if (!reviews.ok()) return reviews.status();
        for (const auto& row : *reviews) {
          c.reviews_total = row[7].as<int64_t>();
          c.reviews.push_back(ReviewFromRow(row));
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

// Rows the index found, read by id (the index keeps no texts). Unknown ids are skipped.
absl::StatusOr<std::vector<Contact>> LoadContacts(postgres::PgPool* pool, const std::vector<std::string>& ids,
                                                  absl::Time deadline) {
  std::vector<Contact> out;
  if (ids.empty()) return out;
  absl::Status st = pool->Transact(
      [&](Tx& tx) -> absl::Status {
        out.clear();
        auto rows =
            tx.Exec(absl::StrCat("SELECT ", kContactColumns,
                                 " FROM raw.contacts k LEFT JOIN raw.products p ON p.id = k.product_id"
                                 " WHERE k.id = ANY($1::text[])"),
                    PgTextArray(ids));
        if (!rows.ok()) return rows.status();
        for (const auto& row : *rows) out.push_back(ContactFromRow(row));
        return absl::OkStatus();
      },
      ReadTx(deadline));
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<std::vector<Review>> LoadReviews(postgres::PgPool* pool, const std::vector<std::string>& ids,
                                                absl::Time deadline) {
  std::vector<Review> out;
  if (ids.empty()) return out;
  absl::Status st = pool->Transact(
      [&](Tx& tx) -> absl::Status {
        out.clear();
        auto rows = tx.Exec(absl::StrCat("SELECT ", kReviewColumns,
                                         " FROM raw.reviews r LEFT JOIN raw.products p ON p.id = r.product_id"
                                         " WHERE r.id = ANY($1::text[])"),
                            PgTextArray(ids));
        if (!rows.ok()) return rows.status();
        for (const auto& row : *rows) out.push_back(ReviewFromRow(row));
        return absl::OkStatus();
      },
      ReadTx(deadline));
  if (!st.ok()) return st;
  return out;
}

// The best `k` good (4-5 star) reviews of a product for `query` from the index, read back by id in rank
// order.
std::vector<Review> PraiseFor(CorpusSync* corpus, postgres::PgPool* pool, const std::string& product_id,
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
  auto rows = LoadReviews(pool, ids, deadline);
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

// ---- One way to ask for text: the configured backend, then the local engine --------------------------

struct Answer {
  google::protobuf::Struct value;
  std::vector<const Fact*> cited;
  std::string backend;
};

bool IsLocal(llm::StructuredLlm* llm) { return llm != nullptr && llm->backend_name() == "local"; }

// Renders prompt `name` with `vars` and the typed `context` (both hold the same retrieved facts). A remote
// backend (configured and not local) is asked first when there are facts to give it; its answer is used
// when it is valid, cites only rows in `citable` and (with `need_citation`) cites at least one. Otherwise
// (or when the backend fails) the local engine answers through the same LlmBackend interface, and the
// fallback is counted.
absl::StatusOr<Answer> Ask(llm::StructuredLlm* configured, llm::StructuredLlm* local,
                           const llm::PromptLibrary* prompts, const std::string& name,
                           const std::map<std::string, std::string>& vars,
                           std::shared_ptr<const llm::PromptContext> context, const llm::Schema& schema,
                           const std::vector<Fact>& citable, bool need_citation, absl::Time deadline,
                           AnalyzerMetrics* metrics, const std::string& cache_scope = "") {
  llm::RenderedPrompt prompt;
  if (prompts != nullptr) {
    auto tmpl = prompts->Get(name);
    if (tmpl.ok()) {
      auto rendered = (*tmpl)->Render(vars);
      if (rendered.ok()) prompt = *std::move(rendered);
    }
  }
  const bool have_text = !prompt.id.empty();
  if (!have_text) prompt.id = name + ".local";  // the local engine reads the context, not the text
  prompt.cache_scope = cache_scope;
  prompt.context = std::move(context);
  llm::StructuredLlm* engine = IsLocal(configured) ? configured : local;
  if (configured != nullptr && !IsLocal(configured) && have_text && !citable.empty()) {
    auto r = configured->Call(prompt, schema, deadline);
    Answer a;
    if (r.ok() && ResolveCitations(llm::GetStrings(r->value, "cited_ids"), citable, &a.cited) &&
        (!need_citation || !a.cited.empty())) {
      a.value = std::move(r->value);
      a.backend = r->backend;
      return a;
    }
    metrics->llm_fallbacks(r.ok() ? "ungrounded" : "error").Increment();
  }
  // The local engine does no I/O: it answers even when a remote backend used up the deadline.
  auto r = engine->Call(prompt, schema, std::max(deadline, absl::Now() + absl::Seconds(1)));
  if (!r.ok()) {
    return absl::InternalError(
        absl::StrCat("the local engine could not write ", name, ": ", r.status().message()));
  }
  Answer a;
  if (!ResolveCitations(llm::GetStrings(r->value, "cited_ids"), citable, &a.cited)) {
    return absl::InternalError(absl::StrCat("the local engine cited a row it was not given (", name, ")"));
  }
  a.value = std::move(r->value);
  a.backend = r->backend;
  return a;
}

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

// ---- The local engine's writers: fluent text from the context's facts, and nothing else -------------

struct SummaryContext : llm::PromptContext {
  std::string who;
  std::vector<std::string> discussed;  // products of discussion in their contact months
  int64_t contacts_total = 0, contacts_loaded = 0, reviews_total = 0, shop_interactions = 0;
  std::string top_channel;
  int top_channel_count = 0;
  std::optional<Contact> last;
  std::vector<std::string> key_topics;
  std::optional<Review> latest_review;
  int sentiment_n = 0;
  double sentiment = 0;
  std::string label;
  std::vector<Fact> facts;
};

absl::StatusOr<google::protobuf::Struct> WriteSummary(const llm::RenderedPrompt& p) {
  auto ctx = ContextOf<SummaryContext>(p);
  if (!ctx.ok()) return ctx.status();
  const SummaryContext& c = **ctx;
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

struct EmailContext : llm::PromptContext {
  std::string first_name;
  std::string greeting;  // "Hi Luke", or "Dear Jedi" for a customer known by occupation only
  std::optional<Contact> complaint;
  std::optional<Activity> anchor;
  bool bought = false;
  int review_count = 0;
  double rating = 0;
  std::vector<std::string> praised;  // aspects
  std::string quote;
  std::vector<std::string> pick_titles;
  std::vector<Fact> facts;
};

absl::StatusOr<google::protobuf::Struct> WriteEmail(const llm::RenderedPrompt& p) {
  auto ctx = ContextOf<EmailContext>(p);
  if (!ctx.ok()) return ctx.status();
  const EmailContext& c = **ctx;
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

struct BriefContext : llm::PromptContext {
  std::string name, brand, category, platform, goal;
  double rating = 0;
  int reviews = 0;
  std::vector<std::pair<std::string, std::pair<int, double>>> praised;  // aspect -> (mentions, polarity)
  std::vector<std::pair<std::string, double>> issues;                   // category -> share
  std::vector<std::pair<std::string, std::string>> quotes;              // (review id, sentence)
  int platform_posts = 0;
  double platform_er = -1, overall_er = -1;
  std::vector<std::tuple<std::string, double, std::string>> top_influencers;  // (name, er, best post id)
  std::string segment, region;
  double segment_share = 0;
  PlatformPerformance performance;                    // hashtags and angles that perform on the platform
  std::map<std::string, std::string> angle_examples;  // angle -> the opening line of its best caption
  std::vector<Fact> facts;
};

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

std::string AngleName(const std::string& angle) {
  static const std::map<std::string, std::string> kNames = {
      {"discount_code", "discount-code"}, {"giveaway", "giveaway"},     {"unboxing", "unboxing"},
      {"tutorial", "tutorial"},           {"comparison", "comparison"}, {"honest_review", "honest-review"},
      {"lifestyle", "lifestyle"},         {"question", "question-led"}};
  auto it = kNames.find(angle);
  return it != kNames.end() ? it->second : Humanize(angle);
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
  auto ctx = ContextOf<BriefContext>(p);
  if (!ctx.ok()) return ctx.status();
  const BriefContext& c = **ctx;
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

GroundedContent::GroundedContent(postgres::PgPool* pool, const Engine* engine, llm::StructuredLlm* llm,
                                 const llm::PromptLibrary* prompts, RecommendFn recommend,
                                 AnalyzerMetrics* metrics, CorpusSync* corpus)
    : pool_(pool),
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
    auto contacts = LoadContacts(pool_, contact_ids, deadline);
    auto reviews = LoadReviews(pool_, review_ids, deadline);
    if (!contacts.ok()) return contacts.status();
    if (!reviews.ok()) return reviews.status();
    for (const CorpusHit& h : hits) {  // rank order
      if (h.source == Source::kContact) {
        for (const Contact& k : *contacts) {
          if (k.id == h.id) add_contact(k);
        }
      } else if (used.insert("review:" + h.id).second) {
        for (const Review& r : *reviews) {
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
  auto answer = Ask(llm_, local_.get(), prompts_, "summarize_interactions",
                    {{"customer", absl::StrCat(c.name.empty() ? c.id : c.name, " (", c.id, ")")},
                     {"facts", stats + "\n" + FactLines(facts)}},
                    std::move(context), llm::SummarySchema(), citable, /*need_citation=*/false, deadline,
                    metrics_, CustomerCacheScope(c.id));
  if (!answer.ok()) return answer.status();
  out->set_summary(llm::GetString(answer->value, "summary"));
  for (const auto& t : llm::GetStrings(answer->value, "key_topics")) out->add_key_topics(t);
  std::set<std::string> seen;
  for (const Fact* f : answer->cited) AddCitation(*f, out->mutable_citations(), &seen);
  out->set_backend(answer->backend);
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
  // What reviewers praise about it: the product's insights, and the review that best says so (BM25 index).
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
          return absl::OkStatus();
        },
        ReadTx(deadline));
    if (!st.ok()) return st;
    // The good review that best says what reviewers praise (the index's BM25 over the product's reviews),
    // asked for in the words reviewers use for those features.
    std::vector<std::string> query_terms;
    for (const auto& p : praised) {
      for (std::string& t : PraiseTerms(*engine_, anchor->category, p)) query_terms.push_back(std::move(t));
    }
    const std::vector<Review> best =
        PraiseFor(corpus_, pool_, anchor->product_id,
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
  auto answer = Ask(llm_, local_.get(), prompts_, "generate_content",
                    {{"customer", absl::StrCat(c.name.empty() ? c.id : c.name, " (", c.id, ")",
                                               c.segment.empty() ? "" : ", segment " + c.segment,
                                               c.occupation.empty() ? "" : ", occupation " + c.occupation)},
                     {"facts", FactLines(facts)}},
                    std::move(context), llm::EmailSchema(), facts, /*need_citation=*/true, deadline, metrics_,
                    CustomerCacheScope(c.id));
  if (!answer.ok()) return answer.status();
  out->set_subject(llm::GetString(answer->value, "subject"));
  out->set_body(llm::GetString(answer->value, "body"));
  std::set<std::string> seen;
  for (const Fact* f : answer->cited) AddCitation(*f, out->mutable_citations(), &seen);
  out->set_backend(answer->backend);
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
  std::vector<CampaignPost> posts;  // the platform's, newest first
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        facts.clear();
        praised.clear();
        issues.clear();
        quotes.clear();
        top_influencers.clear();
        posts.clear();
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
        // The platform's posts with their captions and hashtags: what performs there (brief_tools.h).
        auto rows = tx.Exec(
            "SELECT id, influencer, product_id, left(caption, 300), array_to_string(hashtags, ' '), views,"
            " likes + comments + shares, COALESCE(engagement_rate, -1) FROM raw.campaign_posts"
            " WHERE lower(platform) = $1 ORDER BY posted_at DESC, id LIMIT $2",
            platform, kMaxBriefPosts);
        if (!rows.ok()) return rows.status();
        posts.reserve(rows->size());
        for (const auto& row : *rows) {
          CampaignPost post;
          post.id = row[0].as<std::string>();
          post.influencer = row[1].as<std::string>();
          post.product_id = row[2].as<std::string>();
          post.caption = row[3].as<std::string>();
          post.hashtags = absl::StrSplit(row[4].as<std::string>(), ' ', absl::SkipEmpty());
          post.views = row[5].as<int64_t>();
          post.engagements = row[6].as<int64_t>();
          post.engagement_rate = row[7].as<double>();
          posts.push_back(std::move(post));
        }
        return absl::OkStatus();
      },
      ReadTx(deadline));
  if (!st.ok()) return st;
  // Reviewer quotes about the praised aspects: the index's BM25 over the product's good reviews, one review
  // per aspect.
  {
    std::set<std::string> used;
    for (const auto& [aspect, stats] : praised) {
      const std::vector<std::string> terms = PraiseTerms(*engine_, product.category, aspect);
      for (const Review& r : PraiseFor(corpus_, pool_, product.id, absl::StrJoin(terms, " "), 3, deadline)) {
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
  auto answer =
      Ask(llm_, local_.get(), prompts_, "generate_brief",
          {{"brand", brand},
           {"product", name},
           {"goal", req.goal()},
           {"platform", platform},
           {"facts", FactLines(facts)}},
          std::move(context), llm::BriefSchema(), facts, /*need_citation=*/false, deadline, metrics_);
  if (!answer.ok()) return answer.status();
  const google::protobuf::Struct& v = answer->value;
  out->set_caption(llm::GetString(v, "caption"));
  for (const auto& h : llm::GetStrings(v, "hooks")) out->add_hooks(h);
  for (const auto& h : llm::GetStrings(v, "hashtags")) out->add_hashtags(h);
  out->set_call_to_action(llm::GetString(v, "call_to_action"));
  out->set_tone(llm::GetString(v, "tone"));
  out->set_persona(llm::GetString(v, "persona"));
  for (const auto& t : llm::GetStrings(v, "talking_points")) out->add_talking_points(t);
  std::set<std::string> seen;
  for (const Fact* f : answer->cited) AddCitation(*f, out->mutable_citations(), &seen);
  out->set_backend(answer->backend);
  out->set_brief(absl::StrCat(out->caption(), "\n\nHooks:\n- ", absl::StrJoin(out->hooks(), "\n- "),
                              "\n\nTalking points:\n- ", absl::StrJoin(out->talking_points(), "\n- "),
                              "\n\nCall to action: ", out->call_to_action(), "\nTone: ", out->tone(),
                              "\nAudience: ", out->persona(), "\n", absl::StrJoin(out->hashtags(), " ")));
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer::rag
