#include "services/analyzer/analyzer_service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/analyzer/insights_queries.h"

namespace marketlens::analyzer {
namespace {

constexpr size_t kMaxTextBytes = 1 << 20;
constexpr absl::Duration kMaxCall = absl::Seconds(10);
constexpr char kSep = '\x1f';

absl::Time DeadlineOf(const grpc::ServerContext* ctx) {
  const absl::Time cap = absl::Now() + kMaxCall;
  const auto d = ctx->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return cap;
  return std::min(cap, absl::FromChrono(d));
}

grpc::Status Invalid(grpc::ServerContext* ctx, const std::string& field, const std::string& message) {
  ctx->AddTrailingMetadata("x-error-field", field);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

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

bool ParseSort(const std::string& sort, SummarySort* out) {
  static const std::vector<std::pair<std::string, SummarySort>> kSorts = {
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
      queries_(std::make_unique<InsightsQueries>(pool)),
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
  ProductListQuery query;
  query.page_size = PageSize(req->page_size(), 20);
  if (query.page_size < 1 || query.page_size > 100)
    return Invalid(ctx, "page_size", "page_size must be 1..100");
  const std::string& label = req->sentiment();
  if (!label.empty() && label != "negative" && label != "neutral" && label != "positive") {
    return Invalid(ctx, "sentiment", "sentiment must be one of negative, neutral, positive");
  }
  if (req->min_rating() < 0 || req->min_rating() > 5)
    return Invalid(ctx, "min_rating", "min_rating must be 0..5");
  if (req->q().size() > 200) return Invalid(ctx, "q", "q must be at most 200 characters");
  const std::string sort_name = req->sort().empty() ? "-reviews" : req->sort();
  if (!ParseSort(sort_name, &query.sort)) {
    return Invalid(ctx, "sort",
                   "sort must be one of rating, -rating, sentiment, -sentiment, reviews, -reviews, "
                   "velocity, -velocity, title, -title");
  }
  query.category = req->category();
  query.sentiment_label = label;
  query.min_rating = req->min_rating();
  query.q = req->q();
  if (!req->page_token().empty()) {
    std::vector<std::string> parts;
    if (!DecodeToken(req->page_token(), 3, &parts) || parts[0] != sort_name) {
      return Invalid(ctx, "page_token", "page_token is invalid or belongs to another sort");
    }
    query.after = PageKey{parts[1], parts[2]};
  }
  absl::StatusOr<ProductPage> page = queries_->ListProducts(query, DeadlineOf(ctx));
  if (!page.ok()) return ToGrpc(page.status());
  resp->Clear();
  for (v1::ProductInsights& p : page->products) *resp->add_products() = std::move(p);
  if (page->last) resp->set_next_page_token(EncodeToken({sort_name, page->last->sort_key, page->last->id}));
  resp->set_total_size(page->total);
  return grpc::Status::OK;
}

grpc::Status AnalyzerServiceImpl::GetProductInsights(grpc::ServerContext* ctx,
                                                     const v1::GetProductInsightsRequest* req,
                                                     v1::ProductInsights* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  if (req->product_id().empty()) return Invalid(ctx, "product_id", "product_id must not be empty");
  absl::StatusOr<std::optional<v1::ProductInsights>> product =
      queries_->GetProduct(req->product_id(), DeadlineOf(ctx));
  if (!product.ok()) return ToGrpc(product.status());
  if (!product->has_value()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("product ", req->product_id(), " not found"));
  }
  *resp = std::move(**product);
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
  absl::StatusOr<ReviewPage> page =
      queries_->ListReviews(req->product_id(), after_micros, after_id, page_size, DeadlineOf(ctx));
  if (!page.ok()) return ToGrpc(page.status());
  resp->Clear();
  for (v1::ProductReview& r : page->reviews) *resp->add_reviews() = std::move(r);
  if (page->last) resp->set_next_page_token(EncodeToken({page->last->sort_key, page->last->id}));
  return grpc::Status::OK;
}

grpc::Status AnalyzerServiceImpl::ListAlerts(grpc::ServerContext* ctx, const v1::ListAlertsRequest* req,
                                             v1::ListAlertsResponse* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  AlertQuery query;
  query.page_size = PageSize(req->page_size(), 50);
  if (query.page_size < 1 || query.page_size > 100)
    return Invalid(ctx, "page_size", "page_size must be 1..100");
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
  if (!req->since().empty()) {
    absl::Time t;
    absl::CivilDay day;
    std::string error;
    if (absl::ParseCivilTime(req->since(), &day)) {
      t = absl::FromCivil(day, absl::UTCTimeZone());
    } else if (!absl::ParseTime(absl::RFC3339_full, req->since(), &t, &error)) {
      return Invalid(ctx, "since", "since must be a date (YYYY-MM-DD) or an RFC 3339 time");
    }
    query.since_micros = absl::StrCat(absl::ToUnixMicros(t));
  }
  if (!req->page_token().empty()) {
    std::vector<std::string> parts;
    int64_t m;
    if (!DecodeToken(req->page_token(), 2, &parts) || !absl::SimpleAtoi(parts[0], &m)) {
      return Invalid(ctx, "page_token", "page_token is invalid");
    }
    query.after_micros = parts[0];
    query.after_id = parts[1];
  }
  query.product_id = req->product_id();
  query.kind = kind;
  query.category = req->category();
  query.state = state;
  query.open_only = req->open_only();
  absl::StatusOr<AlertPage> page = queries_->ListAlerts(query, DeadlineOf(ctx));
  if (!page.ok()) return ToGrpc(page.status());
  resp->Clear();
  for (v1::Alert& a : page->alerts) *resp->add_alerts() = std::move(a);
  if (page->last) resp->set_next_page_token(EncodeToken({page->last->sort_key, page->last->id}));
  return grpc::Status::OK;
}

grpc::Status AnalyzerServiceImpl::ChangeAlertState(grpc::ServerContext* ctx, const std::string& id,
                                                   bool resolve, v1::Alert* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  bool uuid = id.size() == 36;
  for (size_t i = 0; uuid && i < id.size(); ++i)
    uuid = (i == 8 || i == 13 || i == 18 || i == 23) ? id[i] == '-' : absl::ascii_isxdigit(id[i]);
  if (!uuid) return Invalid(ctx, "id", "id must be an alert id (a UUID)");
  absl::StatusOr<v1::Alert> alert = queries_->ChangeAlertState(id, resolve, DeadlineOf(ctx));
  if (!alert.ok()) return ToGrpc(alert.status());
  *resp = std::move(*alert);
  return grpc::Status::OK;
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
  absl::StatusOr<std::vector<v1::TopPerformer>> performers =
      queries_->TopPerformers(req->campaign_id(), limit, DeadlineOf(ctx));
  if (!performers.ok()) return ToGrpc(performers.status());
  if (performers->empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("campaign ", req->campaign_id(), " has no posts"));
  }
  resp->Clear();
  for (v1::TopPerformer& p : *performers) *resp->add_performers() = std::move(p);
  return grpc::Status::OK;
}

grpc::Status AnalyzerServiceImpl::InteractionsByProduct(grpc::ServerContext* ctx,
                                                        const v1::InteractionsByProductRequest* req,
                                                        v1::InteractionsByProductResponse* resp) {
  if (pool_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database configured");
  absl::StatusOr<std::vector<v1::ProductInteractionCount>> counts =
      queries_->InteractionsByProduct(req->customer_type(), DeadlineOf(ctx));
  if (!counts.ok()) return ToGrpc(counts.status());
  resp->Clear();
  for (v1::ProductInteractionCount& p : *counts) *resp->add_products() = std::move(p);
  return grpc::Status::OK;
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
