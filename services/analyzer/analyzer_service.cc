#include "services/analyzer/analyzer_service.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "pqxx/pqxx"
#include "services/analyzer/insights/store.h"

namespace marketlens::analyzer {
namespace {

using postgres::Tx;
using postgres::TxOptions;

constexpr size_t kMaxTextBytes = 1 << 20;
constexpr absl::Duration kMaxCall = absl::Seconds(10);
constexpr char kSep = '\x1f';

absl::Time DeadlineOf(const grpc::ServerContext* ctx) {
  const absl::Time cap = absl::Now() + kMaxCall;
  const auto d = ctx->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return cap;
  return std::min(cap, absl::FromChrono(d));
}

TxOptions ReadTx(absl::Time deadline) {
  TxOptions o;
  o.read_only = true;
  o.timeout = std::max(absl::Milliseconds(1), deadline - absl::Now());
  return o;
}

grpc::Status Invalid(grpc::ServerContext* ctx, const std::string& field, const std::string& message) {
  ctx->AddTrailingMetadata("x-error-field", field);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

void SetTime(int64_t micros, google::protobuf::Timestamp* ts) {
  ts->set_seconds(micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000));
  ts->set_nanos(static_cast<int32_t>((micros - ts->seconds() * 1000000) * 1000));
}
int64_t Micros(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }

std::string EncodeToken(const std::vector<std::string>& parts) {
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) joined.push_back(kSep);
    joined += parts[i];
  }
  return absl::WebSafeBase64Escape(joined);
}
bool DecodeToken(const std::string& token, size_t parts, std::vector<std::string>* out) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return false;
  *out = absl::StrSplit(raw, kSep);
  return out->size() == parts;
}

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

// Over insights.alerts a LEFT JOIN insights.product_summary s (the product's title and category).
constexpr char kAlertColumns[] =
    "a.id::text, a.product_id, a.kind, a.metric, COALESCE(a.before, 0), COALESCE(a.after, 0),"
    " COALESCE(a.p_value, 1), a.message, (extract(epoch FROM a.raised_at) * 1000000)::bigint,"
    " (extract(epoch FROM a.resolved_at) * 1000000)::bigint, a.recent_reviews, a.baseline_reviews,"
    " COALESCE(s.title, ''), (extract(epoch FROM a.since) * 1000000)::bigint, a.state,"
    " array_to_string(a.evidence, E'\\x1f'), (extract(epoch FROM a.acknowledged_at) * 1000000)::bigint,"
    " COALESCE(s.category, '')";
constexpr char kAlertFrom[] =
    " FROM insights.alerts a LEFT JOIN insights.product_summary s ON s.product_id = a.product_id";

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
}

struct SortSpec {
  const char* column;  // in insights.product_summary
  bool descending;
  bool text;
};
bool ParseSort(const std::string& sort, SortSpec* out) {
  static const std::vector<std::pair<std::string, SortSpec>> kSorts = {
      {"rating", {"average_rating", false, false}},
      {"-rating", {"average_rating", true, false}},
      {"sentiment", {"sentiment", false, false}},
      {"-sentiment", {"sentiment", true, false}},
      {"reviews", {"review_count", false, false}},
      {"-reviews", {"review_count", true, false}},
      {"velocity", {"reviews_per_week", false, false}},
      {"-velocity", {"reviews_per_week", true, false}},
      {"title", {"title", false, true}},
      {"-title", {"title", true, true}}};
  for (const auto& [name, spec] : kSorts) {
    if (name == sort) {
      *out = spec;
      return true;
    }
  }
  return false;
}

constexpr char kSummaryColumns[] =
    "product_id, title, brand, category, average_rating, review_count, sentiment, reviews_per_week, "
    "velocity_trend,"
    " price_cents, (extract(epoch FROM updated_at) * 1000000)::bigint, sentiment_trend, open_alerts, "
    "sentiment_label,"
    " (extract(epoch FROM last_review_at) * 1000000)::bigint, features::text, issues::text";

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

int PageSize(int requested, int fallback) { return requested == 0 ? fallback : requested; }

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void ToProto(const Analysis& a, v1::TextAnalysis* out) {
  out->set_sentiment(a.sentiment);
  out->set_label(a.label);
  out->set_rule_score(a.rule_score);
  out->set_model_score(a.model_score);
  for (const auto& m : a.aspects) {
    auto* x = out->add_aspects();
    x->set_aspect(m.aspect);
    x->set_polarity(m.polarity);
    x->set_quote(m.quote);
    x->set_discovered(m.discovered);
  }
  for (const auto& i : a.issues) {
    auto* x = out->add_issues();
    x->set_category(i.category);
    x->set_sentence(i.sentence);
  }
  for (const auto& f : a.quality_flags) {
    out->add_quality_flags(f.flag);
    auto* q = out->add_quality();
    q->set_flag(f.flag);
    q->set_sentence(f.sentence);
  }
}

AnalyzerServiceImpl::AnalyzerServiceImpl(postgres::PgPool* pool, const Engine* engine)
    : pool_(pool),
      engine_(engine),
      local_text_(std::make_unique<TextAnalyzer>(engine, nullptr, nullptr)),
      text_(local_text_.get()) {}

AnalyzerServiceImpl::~AnalyzerServiceImpl() = default;

grpc::Status AnalyzerServiceImpl::AnalyzeText(grpc::ServerContext* ctx, const v1::AnalyzeTextRequest* req,
                                              v1::TextAnalysis* resp) {
  if (req->text().empty() && req->title().empty()) return Invalid(ctx, "text", "text must not be empty");
  if (req->text().size() > kMaxTextBytes) {
    return Invalid(
        ctx, "text",
        absl::StrCat("text must be at most ", kMaxTextBytes, " bytes (got ", req->text().size(), ")"));
  }
  if (req->rating() < 0 || req->rating() > 5)
    return Invalid(ctx, "rating", "rating must be 0 (unknown) or 1..5");
  if (!req->backend().empty() && req->backend() != "local" && req->backend() != "openai") {
    return Invalid(ctx, "backend", "backend must be \"local\" or \"openai\"");
  }
  return ToGrpc(text_->Analyze(*req, DeadlineOf(ctx), resp));
}

grpc::Status AnalyzerServiceImpl::ListProductInsights(grpc::ServerContext* ctx,
                                                      const v1::ListProductInsightsRequest* req,
                                                      v1::ListProductInsightsResponse* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  const int page_size = PageSize(req->page_size(), 20);
  if (page_size < 1 || page_size > 100) return Invalid(ctx, "page_size", "page_size must be 1..100");
  const std::string& label = req->sentiment();
  if (!label.empty() && label != "negative" && label != "neutral" && label != "positive") {
    return Invalid(ctx, "sentiment", "sentiment must be one of negative, neutral, positive");
  }
  if (req->min_rating() < 0 || req->min_rating() > 5)
    return Invalid(ctx, "min_rating", "min_rating must be 0..5");
  if (req->q().size() > 200) return Invalid(ctx, "q", "q must be at most 200 characters");
  const std::string sort_name = req->sort().empty() ? "-reviews" : req->sort();
  SortSpec sort;
  if (!ParseSort(sort_name, &sort)) {
    return Invalid(ctx, "sort",
                   "sort must be one of rating, -rating, sentiment, -sentiment, reviews, -reviews, "
                   "velocity, -velocity, title, -title");
  }
  // Filters (shared by the page and the total).
  std::vector<std::string> params;
  std::string where = " WHERE true";
  auto param = [&](std::string v) {
    params.push_back(std::move(v));
    return absl::StrCat("$", params.size());
  };
  if (!req->category().empty()) absl::StrAppend(&where, " AND category = ", param(req->category()));
  if (!label.empty()) absl::StrAppend(&where, " AND sentiment_label = ", param(label));
  if (req->min_rating() > 0)
    absl::StrAppend(&where, " AND average_rating >= ", param(absl::StrCat(req->min_rating())), "::float8");
  if (!req->q().empty()) {
    std::string like = "%";
    for (char c : req->q()) {
      if (c == '%' || c == '_' || c == '\\') like.push_back('\\');
      like.push_back(c);
    }
    like.push_back('%');
    const std::string p = param(like);
    absl::StrAppend(&where, " AND (title ILIKE ", p, " OR brand ILIKE ", p, ")");
  }
  const std::vector<std::string> filter_params = params;
  std::string keyset;
  if (!req->page_token().empty()) {
    std::vector<std::string> parts;
    if (!DecodeToken(req->page_token(), 3, &parts) || parts[0] != sort_name) {
      return Invalid(ctx, "page_token", "page_token is invalid or belongs to another sort");
    }
    const std::string cast = sort.text ? "" : "::float8";
    const std::string v = param(parts[1]), id = param(parts[2]);
    absl::StrAppend(&keyset, " AND (", sort.column, sort.descending ? " < " : " > ", v, cast, " OR (",
                    sort.column, " = ", v, cast, " AND product_id", sort.descending ? " < " : " > ", id,
                    "))");
  }
  const std::string dir = sort.descending ? " DESC" : " ASC";
  const std::string sql = absl::StrCat(
      "SELECT ", kSummaryColumns, ", ", sort.column, "::text AS sort_key FROM insights.product_summary",
      where, keyset, " ORDER BY ", sort.column, dir, ", product_id", dir, " LIMIT ", page_size + 1);
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        resp->Clear();
        auto rows = tx.Exec(sql, pqxx::prepare::make_dynamic_params(params));
        if (!rows.ok()) return rows.status();
        for (size_t i = 0; i < rows->size() && static_cast<int>(i) < page_size; ++i) {
          FillSummary((*rows)[i], resp->add_products());
        }
        if (static_cast<int>(rows->size()) > page_size) {
          const auto& last = (*rows)[page_size - 1];
          resp->set_next_page_token(
              EncodeToken({sort_name, last[17].as<std::string>(), last[0].as<std::string>()}));
        }
        auto total = tx.Exec(absl::StrCat("SELECT count(*) FROM insights.product_summary", where),
                             pqxx::prepare::make_dynamic_params(filter_params));
        if (!total.ok()) return total.status();
        resp->set_total_size((*total)[0][0].as<int64_t>());
        return absl::OkStatus();
      },
      ReadTx(DeadlineOf(ctx)));
  return ToGrpc(st);
}

grpc::Status AnalyzerServiceImpl::GetProductInsights(grpc::ServerContext* ctx,
                                                     const v1::GetProductInsightsRequest* req,
                                                     v1::ProductInsights* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  if (req->product_id().empty()) return Invalid(ctx, "product_id", "product_id must not be empty");
  bool found = false;
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        resp->Clear();
        found = false;
        auto s = tx.Exec(
            absl::StrCat("SELECT ", kSummaryColumns, " FROM insights.product_summary WHERE product_id = $1"),
            req->product_id());
        if (!s.ok()) return s.status();
        if (s->empty()) {
          // Known to raw.* but not analysed yet: the product with no insights.
          auto p = tx.Exec("SELECT id, title, brand, category, price_cents FROM raw.products WHERE id = $1",
                           req->product_id());
          if (!p.ok()) return p.status();
          if (p->empty()) return absl::OkStatus();
          found = true;
          resp->set_product_id((*p)[0][0].as<std::string>());
          resp->set_title((*p)[0][1].as<std::string>());
          resp->set_brand((*p)[0][2].as<std::string>());
          resp->set_category((*p)[0][3].as<std::string>());
          resp->set_price_cents((*p)[0][4].as<int64_t>());
          resp->set_sentiment_label("neutral");
          return absl::OkStatus();
        }
        found = true;
        FillSummary((*s)[0], resp);
        auto weekly = tx.Exec(
            "SELECT (extract(epoch FROM week_start::timestamp) * 1000000)::bigint,"
            " average_rating, sentiment, reviews FROM insights.product_weekly WHERE product_id = $1"
            " ORDER BY week_start DESC LIMIT 104",
            req->product_id());
        if (!weekly.ok()) return weekly.status();
        for (auto it = weekly->rbegin(); it != weekly->rend(); ++it) {
          auto* w = resp->add_weekly();
          SetTime(Micros((*it)[0]), w->mutable_week_start());
          w->set_average_rating((*it)[1].as<double>());
          w->set_sentiment((*it)[2].as<double>());
          w->set_reviews((*it)[3].as<int>());
        }
        // Issues with quotes (the summary only has the counts).
        auto issues = tx.Exec(
            "SELECT category, count, share, array_to_string(quotes, E'\\x1f') FROM insights.issues"
            " WHERE product_id = $1 ORDER BY count DESC, category",
            req->product_id());
        if (!issues.ok()) return issues.status();
        resp->clear_issues();
        for (const auto& row : *issues) {
          auto* i = resp->add_issues();
          i->set_category(row[0].as<std::string>());
          i->set_count(row[1].as<int>());
          i->set_share(row[2].as<double>());
          const std::string quotes = row[3].as<std::string>();
          if (!quotes.empty()) {
            for (absl::string_view q : absl::StrSplit(quotes, kSep)) i->add_quotes(std::string(q));
          }
        }
        auto history = tx.Exec(
            "SELECT (extract(epoch FROM iw.week_start::timestamp) * 1000000)::bigint, "
            "iw.category,"
            " iw.count, iw.count::float8 / GREATEST(pw.reviews, 1) FROM insights.issue_weekly iw"
            " JOIN insights.product_weekly pw USING (product_id, week_start)"
            " WHERE iw.product_id = $1 AND iw.week_start >= (SELECT max(week_start) - 728 FROM "
            "insights.product_weekly"
            "   WHERE product_id = $1) ORDER BY iw.week_start, iw.category",
            req->product_id());
        if (!history.ok()) return history.status();
        for (const auto& row : *history) {
          auto* h = resp->add_issue_history();
          SetTime(Micros(row[0]), h->mutable_week_start());
          h->set_category(row[1].as<std::string>());
          h->set_count(row[2].as<int>());
          h->set_share(row[3].as<double>());
        }
        auto alerts = tx.Exec(absl::StrCat("SELECT ", kAlertColumns, kAlertFrom,
                                           " WHERE a.product_id = $1 AND a.resolved_at IS NULL"
                                           " ORDER BY a.raised_at DESC, a.id"),
                              req->product_id());
        if (!alerts.ok()) return alerts.status();
        for (const auto& row : *alerts) FillAlert(row, resp->add_alerts());
        return absl::OkStatus();
      },
      ReadTx(DeadlineOf(ctx)));
  if (!st.ok()) return ToGrpc(st);
  if (!found)
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("product ", req->product_id(), " not found"));
  return grpc::Status::OK;
}

grpc::Status AnalyzerServiceImpl::ListProductReviews(grpc::ServerContext* ctx,
                                                     const v1::ListProductReviewsRequest* req,
                                                     v1::ListProductReviewsResponse* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  if (req->product_id().empty()) return Invalid(ctx, "product_id", "product_id must not be empty");
  const int page_size = PageSize(req->page_size(), 20);
  if (page_size < 1 || page_size > 100) return Invalid(ctx, "page_size", "page_size must be 1..100");
  std::string after_micros = "", after_id = "";
  if (!req->page_token().empty()) {
    std::vector<std::string> parts;
    int64_t m;
    if (!DecodeToken(req->page_token(), 2, &parts) || !absl::SimpleAtoi(parts[0], &m)) {
      return Invalid(ctx, "page_token", "page_token is invalid");
    }
    after_micros = parts[0];
    after_id = parts[1];
  }
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        resp->Clear();
        auto rows = tx.Exec(
            "SELECT r.id, r.rating, r.title, r.text, (extract(epoch FROM r.created_at) * 1000000)::bigint,"
            " a.sentiment, a.label, a.aspects::text, a.issues::text, array_to_string(a.quality_flags, ','),"
            " a.model_version, a.backend, a.quality::text"
            " FROM raw.reviews r LEFT JOIN insights.review_analysis a ON a.review_id = r.id"
            " WHERE r.product_id = $1 AND ($2 = '' OR (r.created_at, r.id) <"
            "   (to_timestamp(NULLIF($2, '')::float8 / 1000000), $3))"
            " ORDER BY r.created_at DESC, r.id DESC LIMIT $4",
            req->product_id(), after_micros, after_id, page_size + 1);
        if (!rows.ok()) return rows.status();
        for (size_t i = 0; i < rows->size() && static_cast<int>(i) < page_size; ++i) {
          const auto& row = (*rows)[i];
          auto* r = resp->add_reviews();
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
        if (static_cast<int>(rows->size()) > page_size) {
          const auto& last = (*rows)[page_size - 1];
          resp->set_next_page_token(EncodeToken({absl::StrCat(Micros(last[4])), last[0].as<std::string>()}));
        }
        return absl::OkStatus();
      },
      ReadTx(DeadlineOf(ctx)));
  return ToGrpc(st);
}

grpc::Status AnalyzerServiceImpl::ListAlerts(grpc::ServerContext* ctx, const v1::ListAlertsRequest* req,
                                             v1::ListAlertsResponse* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  const int page_size = PageSize(req->page_size(), 50);
  if (page_size < 1 || page_size > 100) return Invalid(ctx, "page_size", "page_size must be 1..100");
  const std::string& kind = req->kind();
  if (!kind.empty() && kind != "rating_drop" && kind != "sentiment_drop" && kind != "issue_spike" &&
      kind != "velocity_drop") {
    return Invalid(ctx, "kind",
                   "kind must be one of rating_drop, sentiment_drop, issue_spike, velocity_drop");
  }
  const std::string& state = req->state();
  if (!state.empty() && state != "open" && state != "acknowledged" && state != "resolved") {
    return Invalid(ctx, "state", "state must be one of open, acknowledged, resolved");
  }
  std::string since_micros;
  if (!req->since().empty()) {
    absl::Time t;
    absl::CivilDay day;
    std::string error;
    if (absl::ParseCivilTime(req->since(), &day)) {
      t = absl::FromCivil(day, absl::UTCTimeZone());
    } else if (!absl::ParseTime(absl::RFC3339_full, req->since(), &t, &error)) {
      return Invalid(ctx, "since", "since must be a date (YYYY-MM-DD) or an RFC 3339 time");
    }
    since_micros = absl::StrCat(absl::ToUnixMicros(t));
  }
  std::string after_micros, after_id;
  if (!req->page_token().empty()) {
    std::vector<std::string> parts;
    int64_t m;
    if (!DecodeToken(req->page_token(), 2, &parts) || !absl::SimpleAtoi(parts[0], &m)) {
      return Invalid(ctx, "page_token", "page_token is invalid");
    }
    after_micros = parts[0];
    after_id = parts[1];
  }
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        resp->Clear();
        auto rows = tx.Exec(
            absl::StrCat(
                "SELECT ", kAlertColumns, kAlertFrom,
                " WHERE ($1 = '' OR a.product_id = $1)"
                " AND ($2 = '' OR a.kind = $2) AND (NOT $3 OR a.resolved_at IS NULL)"
                " AND ($4 = '' OR (a.raised_at, a.id) < (to_timestamp(NULLIF($4, '')::float8 / 1000000),"
                "   NULLIF($5, '')::uuid))"
                " AND ($7 = '' OR s.category = $7) AND ($8 = '' OR a.state = $8)"
                " AND ($9 = '' OR a.since >= to_timestamp(NULLIF($9, '')::float8 / 1000000))"
                " ORDER BY a.raised_at DESC, a.id DESC LIMIT $6"),
            req->product_id(), kind, req->open_only(), after_micros, after_id, page_size + 1, req->category(),
            state, since_micros);
        if (!rows.ok()) return rows.status();
        for (size_t i = 0; i < rows->size() && static_cast<int>(i) < page_size; ++i) {
          FillAlert((*rows)[i], resp->add_alerts());
        }
        if (static_cast<int>(rows->size()) > page_size) {
          const auto& last = (*rows)[page_size - 1];
          resp->set_next_page_token(EncodeToken({absl::StrCat(Micros(last[8])), last[0].as<std::string>()}));
        }
        return absl::OkStatus();
      },
      ReadTx(DeadlineOf(ctx)));
  return ToGrpc(st);
}

grpc::Status AnalyzerServiceImpl::ChangeAlertState(grpc::ServerContext* ctx, const std::string& id,
                                                   bool resolve, v1::Alert* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  bool uuid = id.size() == 36;
  for (size_t i = 0; uuid && i < id.size(); ++i)
    uuid = (i == 8 || i == 13 || i == 18 || i == 23) ? id[i] == '-' : absl::ascii_isxdigit(id[i]);
  if (!uuid) return Invalid(ctx, "id", "id must be an alert id (a UUID)");
  TxOptions write;
  write.timeout = std::max(absl::Milliseconds(1), DeadlineOf(ctx) - absl::Now());
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        auto current = tx.Exec("SELECT state FROM insights.alerts WHERE id = $1::uuid FOR UPDATE", id);
        if (!current.ok()) return current.status();
        if (current->empty()) return absl::NotFoundError(absl::StrCat("alert ", id, " not found"));
        const std::string state = (*current)[0][0].as<std::string>();
        if (state == "resolved") return absl::FailedPreconditionError("the alert is already resolved");
        auto upd =
            tx.Exec(resolve ? "UPDATE insights.alerts SET state = 'resolved', resolved_at = now(),"
                              " resolved_by = 'user' WHERE id = $1::uuid"
                            : "UPDATE insights.alerts SET state = 'acknowledged',"
                              " acknowledged_at = COALESCE(acknowledged_at, now()) WHERE id = $1::uuid",
                    id);
        if (!upd.ok()) return upd.status();
        if (resolve) {
          auto count = tx.Exec(
              "UPDATE insights.product_summary s SET open_alerts = (SELECT count(*) FROM insights.alerts a"
              " WHERE a.product_id = s.product_id AND a.resolved_at IS NULL)"
              " WHERE s.product_id = (SELECT product_id FROM insights.alerts WHERE id = $1::uuid)",
              id);
          if (!count.ok()) return count.status();
        }
        auto row = tx.Exec(absl::StrCat("SELECT ", kAlertColumns, kAlertFrom, " WHERE a.id = $1::uuid"), id);
        if (!row.ok()) return row.status();
        FillAlert((*row)[0], resp);
        return absl::OkStatus();
      },
      write);
  return ToGrpc(st);
}

grpc::Status AnalyzerServiceImpl::AcknowledgeAlert(grpc::ServerContext* ctx,
                                                   const v1::AlertActionRequest* req, v1::Alert* resp) {
  return ChangeAlertState(ctx, req->id(), /*resolve=*/false, resp);
}

grpc::Status AnalyzerServiceImpl::ResolveAlert(grpc::ServerContext* ctx, const v1::AlertActionRequest* req,
                                               v1::Alert* resp) {
  return ChangeAlertState(ctx, req->id(), /*resolve=*/true, resp);
}

grpc::Status AnalyzerServiceImpl::TopPerformers(grpc::ServerContext* ctx, const v1::TopPerformersRequest* req,
                                                v1::TopPerformersResponse* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  if (req->campaign_id().empty()) return Invalid(ctx, "campaign_id", "campaign_id must not be empty");
  const int limit = PageSize(req->limit(), 10);
  if (limit < 1 || limit > 100) return Invalid(ctx, "limit", "limit must be 1..100");
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        resp->Clear();
        // Engagement rate = (likes + comments + shares) / views over the influencer's posts in the campaign.
        auto rows = tx.Exec(
            "SELECT influencer, mode() WITHIN GROUP (ORDER BY platform), count(*), sum(views)::bigint,"
            " COALESCE(sum(likes + comments + shares)::float8 / NULLIF(sum(views), 0), 0) AS er"
            " FROM raw.campaign_posts WHERE campaign_id = $1 GROUP BY influencer"
            " ORDER BY er DESC, sum(views) DESC, influencer LIMIT $2",
            req->campaign_id(), limit);
        if (!rows.ok()) return rows.status();
        for (const auto& row : *rows) {
          auto* p = resp->add_performers();
          p->set_influencer(row[0].as<std::string>());
          p->set_platform(row[1].as<std::string>());
          p->set_posts(row[2].as<int64_t>());
          p->set_views(row[3].as<int64_t>());
          p->set_engagement_rate(row[4].as<double>());
        }
        return absl::OkStatus();
      },
      ReadTx(DeadlineOf(ctx)));
  if (!st.ok()) return ToGrpc(st);
  if (resp->performers().empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("campaign ", req->campaign_id(), " has no posts"));
  }
  return grpc::Status::OK;
}

grpc::Status AnalyzerServiceImpl::InteractionsByProduct(grpc::ServerContext* ctx,
                                                        const v1::InteractionsByProductRequest* req,
                                                        v1::InteractionsByProductResponse* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        resp->Clear();
        // Per customer type (segment, any case) and product; the 100 products with most interactions per
        // type. Shop interactions, and customer-service contacts: about their product, or else about the
        // products of discussion of their month (raw.discussed_products).
        auto rows = tx.Exec(
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
            " WHERE rank <= 100 ORDER BY segment, n DESC, product_id",
            req->customer_type());
        if (!rows.ok()) return rows.status();
        for (const auto& row : *rows) {
          auto* p = resp->add_products();
          p->set_customer_type(row[0].as<std::string>());
          p->set_product_id(row[1].as<std::string>());
          p->set_interactions(row[2].as<int64_t>());
        }
        return absl::OkStatus();
      },
      ReadTx(DeadlineOf(ctx)));
  return ToGrpc(st);
}

grpc::Status AnalyzerServiceImpl::GenerateContent(grpc::ServerContext* ctx,
                                                  const v1::GenerateContentRequest* req,
                                                  v1::GenerateContentResponse* resp) {
  if (req->customer_id().empty()) return Invalid(ctx, "customer_id", "customer_id must not be empty");
  if (content_ == nullptr)
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "content generation is not configured");
  return ToGrpc(content_->GenerateContent(*req, DeadlineOf(ctx), resp));
}

grpc::Status AnalyzerServiceImpl::SummarizeInteractions(grpc::ServerContext* ctx,
                                                        const v1::SummarizeInteractionsRequest* req,
                                                        v1::SummarizeInteractionsResponse* resp) {
  if (req->customer_id().empty()) return Invalid(ctx, "customer_id", "customer_id must not be empty");
  if (content_ == nullptr)
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "content generation is not configured");
  return ToGrpc(content_->SummarizeInteractions(*req, DeadlineOf(ctx), resp));
}

grpc::Status AnalyzerServiceImpl::GenerateBrief(grpc::ServerContext* ctx, const v1::GenerateBriefRequest* req,
                                                v1::GenerateBriefResponse* resp) {
  if (req->brand().empty() && req->product().empty()) {
    return Invalid(ctx, "product", "product (or brand) must not be empty");
  }
  if (content_ == nullptr)
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "content generation is not configured");
  return ToGrpc(content_->GenerateBrief(*req, DeadlineOf(ctx), resp));
}

}  // namespace marketlens::analyzer
