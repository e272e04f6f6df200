#include "services/analyzer/insights_queries.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status/macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "pqxx/pqxx"

namespace marketlens::analyzer {
namespace {

namespace v1 = ::marketlens::analyzer::v1;
using postgres::Tx;
using postgres::TxOptions;

// ---- the queries ------------------------------------------------------------------------------------------

// insights.product_summary's columns as FillSummary reads them.
constexpr char kSummaryColumns[] =
    "product_id, title, brand, category, average_rating, review_count, sentiment, reviews_per_week, "
    "velocity_trend,"
    " price_cents, (extract(epoch FROM updated_at) * 1000000)::bigint, sentiment_trend, open_alerts, "
    "sentiment_label,"
    " (extract(epoch FROM last_review_at) * 1000000)::bigint, features::text, issues::text";
constexpr char kSummaryFrom[] = " FROM insights.product_summary";
constexpr char kCountSummaries[] = "SELECT count(*) FROM insights.product_summary";
constexpr char kSummaryOfProduct[] = " FROM insights.product_summary WHERE product_id = $1";

// Known to raw.* but not analysed yet.
constexpr char kCatalogueProduct[] =
    "SELECT id, title, brand, category, price_cents FROM raw.products WHERE id = $1";

constexpr char kProductWeekly[] =
    "SELECT (extract(epoch FROM week_start::timestamp) * 1000000)::bigint,"
    " average_rating, sentiment, reviews FROM insights.product_weekly WHERE product_id = $1"
    " ORDER BY week_start DESC LIMIT 104";

// Issues with quotes (the summary only has the counts).
constexpr char kProductIssues[] =
    "SELECT category, count, share, array_to_string(quotes, E'\\x1f') FROM insights.issues"
    " WHERE product_id = $1 ORDER BY count DESC, category";

constexpr char kProductIssueHistory[] =
    "SELECT (extract(epoch FROM iw.week_start::timestamp) * 1000000)::bigint, "
    "iw.category,"
    " iw.count, iw.count::float8 / GREATEST(pw.reviews, 1) FROM insights.issue_weekly iw"
    " JOIN insights.product_weekly pw USING (product_id, week_start)"
    " WHERE iw.product_id = $1 AND iw.week_start >= (SELECT max(week_start) - 728 FROM "
    "insights.product_weekly"
    "   WHERE product_id = $1) ORDER BY iw.week_start, iw.category";

constexpr char kProductReviews[] =
    "SELECT r.id, r.rating, r.title, r.text, (extract(epoch FROM r.created_at) * 1000000)::bigint,"
    " a.sentiment, a.label, a.aspects::text, a.issues::text, array_to_string(a.quality_flags, ','),"
    " a.model_version, a.backend, a.quality::text"
    " FROM raw.reviews r LEFT JOIN insights.review_analysis a ON a.review_id = r.id"
    " WHERE r.product_id = $1 AND ($2 = '' OR (r.created_at, r.id) <"
    "   (to_timestamp(NULLIF($2, '')::float8 / 1000000), $3))"
    " ORDER BY r.created_at DESC, r.id DESC LIMIT $4";

// Over insights.alerts a LEFT JOIN insights.product_summary s (the product's title and category).
constexpr char kAlertColumns[] =
    "a.id::text, a.product_id, a.kind, a.metric, COALESCE(a.before, 0), COALESCE(a.after, 0),"
    " COALESCE(a.p_value, 1), a.message, (extract(epoch FROM a.raised_at) * 1000000)::bigint,"
    " (extract(epoch FROM a.resolved_at) * 1000000)::bigint, a.recent_reviews, a.baseline_reviews,"
    " COALESCE(s.title, ''), (extract(epoch FROM a.since) * 1000000)::bigint, a.state,"
    " array_to_string(a.evidence, E'\\x1f'), (extract(epoch FROM a.acknowledged_at) * 1000000)::bigint,"
    " COALESCE(s.category, ''), (extract(epoch FROM a.changed_after) * 1000000)::bigint,"
    " (extract(epoch FROM a.since_earliest) * 1000000)::bigint,"
    " (extract(epoch FROM a.since_latest) * 1000000)::bigint";
constexpr char kAlertFrom[] =
    " FROM insights.alerts a LEFT JOIN insights.product_summary s ON s.product_id = a.product_id";
constexpr char kOpenAlertsOfProduct[] =
    " WHERE a.product_id = $1 AND a.resolved_at IS NULL ORDER BY a.raised_at DESC, a.id";
constexpr char kAlertsFiltered[] =
    " WHERE ($1 = '' OR a.product_id = $1)"
    " AND ($2 = '' OR a.kind = $2) AND (NOT $3 OR a.resolved_at IS NULL)"
    " AND ($4 = '' OR (a.raised_at, a.id) < (to_timestamp(NULLIF($4, '')::float8 / 1000000),"
    "   NULLIF($5, '')::uuid))"
    " AND ($7 = '' OR s.category = $7) AND ($8 = '' OR a.state = $8)"
    " AND ($9 = '' OR a.since >= to_timestamp(NULLIF($9, '')::float8 / 1000000))"
    " ORDER BY a.raised_at DESC, a.id DESC LIMIT $6";
constexpr char kAlertById[] = " WHERE a.id = $1::uuid";

constexpr char kLockAlertState[] = "SELECT state FROM insights.alerts WHERE id = $1::uuid FOR UPDATE";
constexpr char kResolveAlert[] =
    "UPDATE insights.alerts SET state = 'resolved', resolved_at = now(),"
    " resolved_by = 'user' WHERE id = $1::uuid";
constexpr char kAcknowledgeAlert[] =
    "UPDATE insights.alerts SET state = 'acknowledged',"
    " acknowledged_at = COALESCE(acknowledged_at, now()) WHERE id = $1::uuid";
constexpr char kRefreshOpenAlerts[] =
    "UPDATE insights.product_summary s SET open_alerts = (SELECT count(*) FROM insights.alerts a"
    " WHERE a.product_id = s.product_id AND a.resolved_at IS NULL)"
    " WHERE s.product_id = (SELECT product_id FROM insights.alerts WHERE id = $1::uuid)";

// Engagement rate = (likes + comments + shares) / views over the influencer's posts in the campaign.
constexpr char kTopPerformers[] =
    "SELECT influencer, mode() WITHIN GROUP (ORDER BY platform), count(*), sum(views)::bigint,"
    " COALESCE(sum(likes + comments + shares)::float8 / NULLIF(sum(views), 0), 0) AS er"
    " FROM raw.campaign_posts WHERE campaign_id = $1 GROUP BY influencer"
    " ORDER BY er DESC, sum(views) DESC, influencer LIMIT $2";

// Per customer type (segment, any case) and product; the 100 products with most interactions per
// type. Shop interactions, and customer-service contacts: about their product, or else about the
// products of discussion of their month (raw.discussed_products).
constexpr char kInteractionsByProduct[] =
    "SELECT segment, product_id, n FROM ("
    "  SELECT segment, product_id, count(*) AS n,"
    "         row_number() OVER (PARTITION BY segment ORDER BY count(*) DESC, product_id) AS rank"
    "  FROM (SELECT lower(c.segment) AS segment, i.product_id FROM raw.interactions i"
    "        JOIN raw.customers c ON c.id = i.customer_id"
    "        UNION ALL SELECT lower(c.segment), k.product_id FROM raw.contacts k"
    "        JOIN raw.customers c ON c.id = k.customer_id WHERE k.product_id <> ''"
    "        UNION ALL SELECT lower(c.segment), COALESCE(NULLIF(d.product_id, ''), d.product)"
    "        FROM raw.contacts k JOIN raw.customers c ON c.id = k.customer_id"
    "        JOIN raw.discussed_products d"
    "          ON d.month = date_trunc('month', k.started_at AT TIME ZONE 'UTC')::date"
    "        WHERE k.product_id = '') x"
    "  WHERE ($1 = '' OR segment = lower($1)) GROUP BY segment, product_id) t"
    " WHERE rank <= 100 ORDER BY segment, n DESC, product_id";

// ---- rows to messages -------------------------------------------------------------------------------------

constexpr char kSep = '\x1f';

void SetTime(int64_t micros, google::protobuf::Timestamp* ts) {
  ts->set_seconds(micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000));
  ts->set_nanos(static_cast<int32_t>((micros - ts->seconds() * 1000000) * 1000));
}
int64_t Micros(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }

// Parses a JSON array (as stored in jsonb) into a ListValue; empty on error.
google::protobuf::ListValue ParseList(const std::string& json) {
  google::protobuf::ListValue list;
  if (!google::protobuf::util::JsonStringToMessage(json, &list).ok()) list.Clear();
  return list;
}
std::string Str(const google::protobuf::Value& v) {
  return v.kind_case() == google::protobuf::Value::kStringValue ? v.string_value() : "";
}
double Num(const google::protobuf::Value& v) {
  return v.kind_case() == google::protobuf::Value::kNumberValue ? v.number_value() : 0;
}
const google::protobuf::Value* Field(const google::protobuf::Value& v, const std::string& name) {
  if (v.kind_case() != google::protobuf::Value::kStructValue) return nullptr;
  auto it = v.struct_value().fields().find(name);
  return it == v.struct_value().fields().end() ? nullptr : &it->second;
}

void FillAnalysisFromJson(const std::string& aspects, const std::string& issues, const std::string& quality,
                          v1::TextAnalysis* out) {
  const google::protobuf::ListValue aspect_list = ParseList(aspects), issue_list = ParseList(issues),
                                    quality_list = ParseList(quality);
  for (const auto& v : aspect_list.values()) {
    auto* a = out->add_aspects();
    if (auto* f = Field(v, "aspect")) a->set_aspect(Str(*f));
    if (auto* f = Field(v, "polarity")) a->set_polarity(Num(*f));
    if (auto* f = Field(v, "quote")) a->set_quote(Str(*f));
    if (auto* f = Field(v, "discovered")) a->set_discovered(f->bool_value());
  }
  for (const auto& v : issue_list.values()) {
    auto* i = out->add_issues();
    if (auto* f = Field(v, "category")) i->set_category(Str(*f));
    if (auto* f = Field(v, "sentence")) i->set_sentence(Str(*f));
  }
  for (const auto& v : quality_list.values()) {
    auto* q = out->add_quality();
    if (auto* f = Field(v, "flag")) q->set_flag(Str(*f));
    if (auto* f = Field(v, "sentence")) q->set_sentence(Str(*f));
  }
}

// A row of kAlertColumns.
void FillAlert(const pqxx::row& row, v1::Alert* a) {
  a->set_id(row[0].as<std::string>());
  a->set_product_id(row[1].as<std::string>());
  a->set_kind(row[2].as<std::string>());
  a->set_metric(row[3].as<std::string>());
  a->set_before(row[4].as<double>());
  a->set_after(row[5].as<double>());
  a->set_p_value(row[6].as<double>());
  a->set_message(row[7].as<std::string>());
  SetTime(Micros(row[8]), a->mutable_raised_at());
  if (!row[9].is_null()) SetTime(Micros(row[9]), a->mutable_resolved_at());
  a->set_recent_reviews(row[10].as<int>());
  a->set_baseline_reviews(row[11].as<int>());
  a->set_product_title(row[12].as<std::string>());
  if (!row[13].is_null()) SetTime(Micros(row[13]), a->mutable_since());
  a->set_state(row[14].as<std::string>());
  for (auto id : absl::StrSplit(row[15].as<std::string>(), kSep, absl::SkipEmpty()))
    a->add_evidence_review_ids(std::string(id));
  if (!row[16].is_null()) SetTime(Micros(row[16]), a->mutable_acknowledged_at());
  a->set_category(row[17].as<std::string>());
  if (!row[18].is_null()) SetTime(Micros(row[18]), a->mutable_changed_after());
  if (!row[19].is_null()) SetTime(Micros(row[19]), a->mutable_since_earliest());
  if (!row[20].is_null()) SetTime(Micros(row[20]), a->mutable_since_latest());
}

// A row of kSummaryColumns.
void FillSummary(const pqxx::row& row, v1::ProductInsights* p) {
  p->set_product_id(row[0].as<std::string>());
  p->set_title(row[1].as<std::string>());
  p->set_brand(row[2].as<std::string>());
  p->set_category(row[3].as<std::string>());
  p->set_average_rating(row[4].as<double>());
  p->set_review_count(row[5].as<int>());
  p->set_no_reviews_yet(row[5].as<int>() == 0);
  p->set_sentiment(row[6].as<double>());
  p->set_reviews_per_week(row[7].as<double>());
  p->set_velocity_trend(row[8].as<double>());
  p->set_price_cents(row[9].as<int64_t>());
  SetTime(Micros(row[10]), p->mutable_updated_at());
  p->set_sentiment_trend(row[11].as<double>());
  p->set_open_alerts(row[12].as<int>());
  p->set_sentiment_label(row[13].as<std::string>());
  if (!row[14].is_null()) SetTime(Micros(row[14]), p->mutable_last_review_at());
  const google::protobuf::ListValue features = ParseList(row[15].as<std::string>());
  const google::protobuf::ListValue issues = ParseList(row[16].as<std::string>());
  for (const auto& v : features.values()) {
    auto* f = p->add_features();
    if (auto* x = Field(v, "aspect")) f->set_aspect(Str(*x));
    if (auto* x = Field(v, "mentions")) f->set_mentions(static_cast<int>(Num(*x)));
    if (auto* x = Field(v, "polarity")) f->set_polarity(Num(*x));
  }
  for (const auto& v : issues.values()) {
    auto* i = p->add_issues();
    if (auto* x = Field(v, "category")) i->set_category(Str(*x));
    if (auto* x = Field(v, "count")) i->set_count(static_cast<int>(Num(*x)));
    if (auto* x = Field(v, "share")) i->set_share(Num(*x));
  }
}

}  // namespace

absl::StatusOr<ProductPage> InsightsQueries::ListProducts(const ProductListQuery& query,
                                                          absl::Time deadline) const {
  // Filters (shared by the page and the total), as parameters.
  std::vector<std::string> params;
  std::string where = " WHERE true";
  auto param = [&](std::string v) {
    params.push_back(std::move(v));
    return absl::StrCat("$", params.size());
  };
  if (!query.category.empty()) absl::StrAppend(&where, " AND category = ", param(query.category));
  if (!query.sentiment_label.empty()) {
    absl::StrAppend(&where, " AND sentiment_label = ", param(query.sentiment_label));
  }
  if (query.min_rating > 0) {
    absl::StrAppend(&where, " AND average_rating >= ", param(absl::StrCat(query.min_rating)), "::float8");
  }
  if (!query.q.empty()) {
    std::string like = "%";
    for (char c : query.q) {
      if (c == '%' || c == '_' || c == '\\') like.push_back('\\');
      like.push_back(c);
    }
    like.push_back('%');
    const std::string p = param(like);
    absl::StrAppend(&where, " AND (title ILIKE ", p, " OR brand ILIKE ", p, ")");
  }
  const std::vector<std::string> filter_params = params;
  const SummarySort& sort = query.sort;
  std::string keyset;
  if (query.after) {
    const std::string cast = sort.text ? "" : "::float8";
    const std::string v = param(query.after->sort_key), id = param(query.after->id);
    absl::StrAppend(&keyset, " AND (", sort.column, sort.descending ? " < " : " > ", v, cast, " OR (",
                    sort.column, " = ", v, cast, " AND product_id", sort.descending ? " < " : " > ", id,
                    "))");
  }
  const std::string dir = sort.descending ? " DESC" : " ASC";
  const std::string sql = absl::StrCat("SELECT ", kSummaryColumns, ", ", sort.column, "::text AS sort_key",
                                       kSummaryFrom, where, keyset, " ORDER BY ", sort.column, dir,
                                       ", product_id", dir, " LIMIT ", query.page_size + 1);
  ProductPage page;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        page = ProductPage();
        ASSIGN_OR_RETURN(auto rows, tx.Exec(sql, pqxx::prepare::make_dynamic_params(params)));
        for (size_t i = 0; i < rows.size() && static_cast<int>(i) < query.page_size; ++i) {
          FillSummary(rows[i], &page.products.emplace_back());
        }
        if (static_cast<int>(rows.size()) > query.page_size) {
          const auto& last = rows[query.page_size - 1];
          page.last = PageKey{last[17].as<std::string>(), last[0].as<std::string>()};
        }
        ASSIGN_OR_RETURN(auto total, tx.Exec(absl::StrCat(kCountSummaries, where),
                                             pqxx::prepare::make_dynamic_params(filter_params)));
        page.total = total[0][0].as<int64_t>();
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return page;
}

absl::StatusOr<std::optional<v1::ProductInsights>> InsightsQueries::GetProduct(const std::string& product_id,
                                                                               absl::Time deadline) const {
  std::optional<v1::ProductInsights> out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        out.reset();
        ASSIGN_OR_RETURN(auto s,
                         tx.Exec(absl::StrCat("SELECT ", kSummaryColumns, kSummaryOfProduct), product_id));
        if (s.empty()) {
          // Known to raw.* but not analysed yet: the product with no insights.
          ASSIGN_OR_RETURN(auto p, tx.Exec(kCatalogueProduct, product_id));
          if (p.empty()) return absl::OkStatus();
          v1::ProductInsights& resp = out.emplace();
          resp.set_product_id(p[0][0].as<std::string>());
          resp.set_title(p[0][1].as<std::string>());
          resp.set_brand(p[0][2].as<std::string>());
          resp.set_category(p[0][3].as<std::string>());
          resp.set_price_cents(p[0][4].as<int64_t>());
          resp.set_sentiment_label("neutral");
          return absl::OkStatus();
        }
        v1::ProductInsights& resp = out.emplace();
        FillSummary(s[0], &resp);
        ASSIGN_OR_RETURN(auto weekly, tx.Exec(kProductWeekly, product_id));
        for (auto it = weekly.rbegin(); it != weekly.rend(); ++it) {
          auto* w = resp.add_weekly();
          SetTime(Micros((*it)[0]), w->mutable_week_start());
          w->set_average_rating((*it)[1].as<double>());
          w->set_sentiment((*it)[2].as<double>());
          w->set_reviews((*it)[3].as<int>());
        }
        ASSIGN_OR_RETURN(auto issues, tx.Exec(kProductIssues, product_id));
        resp.clear_issues();
        for (const auto& row : issues) {
          auto* i = resp.add_issues();
          i->set_category(row[0].as<std::string>());
          i->set_count(row[1].as<int>());
          i->set_share(row[2].as<double>());
          const std::string quotes = row[3].as<std::string>();
          if (!quotes.empty()) {
            for (absl::string_view q : absl::StrSplit(quotes, kSep)) i->add_quotes(std::string(q));
          }
        }
        ASSIGN_OR_RETURN(auto history, tx.Exec(kProductIssueHistory, product_id));
        for (const auto& row : history) {
          auto* h = resp.add_issue_history();
          SetTime(Micros(row[0]), h->mutable_week_start());
          h->set_category(row[1].as<std::string>());
          h->set_count(row[2].as<int>());
          h->set_share(row[3].as<double>());
        }
        ASSIGN_OR_RETURN(
            auto alerts,
            tx.Exec(absl::StrCat("SELECT ", kAlertColumns, kAlertFrom, kOpenAlertsOfProduct), product_id));
        for (const auto& row : alerts) FillAlert(row, resp.add_alerts());
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return out;
}

absl::StatusOr<ReviewPage> InsightsQueries::ListReviews(const std::string& product_id,
                                                        const std::string& after_micros,
                                                        const std::string& after_id, int page_size,
                                                        absl::Time deadline) const {
  ReviewPage page;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        page = ReviewPage();
        ASSIGN_OR_RETURN(auto rows,
                         tx.Exec(kProductReviews, product_id, after_micros, after_id, page_size + 1));
        for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page_size; ++i) {
          const auto& row = rows[i];
          v1::ProductReview* r = &page.reviews.emplace_back();
          r->set_review_id(row[0].as<std::string>());
          r->set_rating(row[1].as<int>());
          r->set_title(row[2].as<std::string>());
          r->set_text(row[3].as<std::string>());
          SetTime(Micros(row[4]), r->mutable_created_at());
          if (!row[5].is_null()) {
            auto* a = r->mutable_analysis();
            a->set_sentiment(row[5].as<double>());
            a->set_label(row[6].as<std::string>());
            FillAnalysisFromJson(row[7].as<std::string>(), row[8].as<std::string>(),
                                 row[12].as<std::string>(), a);
            const std::string flags = row[9].as<std::string>();
            if (!flags.empty()) {
              for (absl::string_view f : absl::StrSplit(flags, ',')) a->add_quality_flags(std::string(f));
            }
            a->set_model_version(row[10].as<std::string>());
            a->set_backend(row[11].as<std::string>());
          }
        }
        if (static_cast<int>(rows.size()) > page_size) {
          const auto& last = rows[page_size - 1];
          page.last = PageKey{absl::StrCat(Micros(last[4])), last[0].as<std::string>()};
        }
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return page;
}

absl::StatusOr<AlertPage> InsightsQueries::ListAlerts(const AlertQuery& query, absl::Time deadline) const {
  AlertPage page;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        page = AlertPage();
        ASSIGN_OR_RETURN(
            auto rows,
            tx.Exec(absl::StrCat("SELECT ", kAlertColumns, kAlertFrom, kAlertsFiltered), query.product_id,
                    query.kind, query.open_only, query.after_micros, query.after_id, query.page_size + 1,
                    query.category, query.state, query.since_micros));
        for (size_t i = 0; i < rows.size() && static_cast<int>(i) < query.page_size; ++i) {
          FillAlert(rows[i], &page.alerts.emplace_back());
        }
        if (static_cast<int>(rows.size()) > query.page_size) {
          const auto& last = rows[query.page_size - 1];
          page.last = PageKey{absl::StrCat(Micros(last[8])), last[0].as<std::string>()};
        }
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return page;
}

absl::StatusOr<v1::Alert> InsightsQueries::ChangeAlertState(const std::string& id, bool resolve,
                                                            absl::Time deadline) const {
  TxOptions write;
  write.timeout = std::max(absl::Milliseconds(1), deadline - absl::Now());
  v1::Alert alert;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(auto current, tx.Exec(kLockAlertState, id));
        if (current.empty()) return absl::NotFoundError(absl::StrCat("alert ", id, " not found"));
        const std::string state = current[0][0].as<std::string>();
        if (state == "resolved") return absl::FailedPreconditionError("the alert is already resolved");
        RETURN_IF_ERROR(tx.Exec(resolve ? kResolveAlert : kAcknowledgeAlert, id));
        if (resolve) {
          RETURN_IF_ERROR(tx.Exec(kRefreshOpenAlerts, id));
        }
        ASSIGN_OR_RETURN(auto row,
                         tx.Exec(absl::StrCat("SELECT ", kAlertColumns, kAlertFrom, kAlertById), id));
        alert.Clear();
        FillAlert(row[0], &alert);
        return absl::OkStatus();
      },
      write));
  return alert;
}

absl::StatusOr<std::vector<v1::TopPerformer>> InsightsQueries::TopPerformers(const std::string& campaign_id,
                                                                             int limit,
                                                                             absl::Time deadline) const {
  std::vector<v1::TopPerformer> out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        out.clear();
        ASSIGN_OR_RETURN(auto rows, tx.Exec(kTopPerformers, campaign_id, limit));
        for (const auto& row : rows) {
          v1::TopPerformer& p = out.emplace_back();
          p.set_influencer(row[0].as<std::string>());
          p.set_platform(row[1].as<std::string>());
          p.set_posts(row[2].as<int64_t>());
          p.set_views(row[3].as<int64_t>());
          p.set_engagement_rate(row[4].as<double>());
        }
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return out;
}

absl::StatusOr<std::vector<v1::ProductInteractionCount>> InsightsQueries::InteractionsByProduct(
    const std::string& customer_type, absl::Time deadline) const {
  std::vector<v1::ProductInteractionCount> out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        out.clear();
        ASSIGN_OR_RETURN(auto rows, tx.Exec(kInteractionsByProduct, customer_type));
        for (const auto& row : rows) {
          v1::ProductInteractionCount& p = out.emplace_back();
          p.set_customer_type(row[0].as<std::string>());
          p.set_product_id(row[1].as<std::string>());
          p.set_interactions(row[2].as<int64_t>());
        }
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return out;
}

}  // namespace marketlens::analyzer
