#include "services/gateway/fake_backends.h"

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/logging/grpc_request_id.h"

namespace marketlens::gateway::testing {
namespace {

using grpc::Status;
using grpc::StatusCode;

Status FakeErase(const std::string& kind, int64_t count, const privacy::v1::EraseUserRequest* req,
                 privacy::v1::EraseUserResponse* resp) {
  if (req->user_id().empty()) return Status(StatusCode::INVALID_ARGUMENT, "user_id is required");
  privacy::v1::ErasedData* e = resp->add_erased();
  e->set_kind(kind);
  e->set_count(count);
  return Status::OK;
}

Status FakeExport(const std::string& service, const privacy::v1::ExportUserRequest* req,
                  privacy::v1::ExportUserResponse* resp) {
  if (req->user_id().empty()) return Status(StatusCode::INVALID_ARGUMENT, "user_id is required");
  resp->set_service(service);
  privacy::v1::ExportedTable* t = resp->add_tables();
  t->set_name(service + ".fake");
  (*t->add_rows()->mutable_fields())["user_id"].set_string_value(req->user_id());
  return Status::OK;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  ts->set_seconds(absl::ToUnixSeconds(t));
  ts->set_nanos(0);
}

bool CodeFromName(absl::string_view name, StatusCode* out) {
  for (int c = 0; c <= 16; ++c) {
    if (absl::StatusCodeToString(static_cast<absl::StatusCode>(c)) == name) {
      *out = static_cast<StatusCode>(c);
      return true;
    }
  }
  return false;
}

}  // namespace

// ---- Analyzer -----------------------------------------------------------------------------------------

FakeAnalyzer::FakeAnalyzer(int products) {
  const char* categories[] = {"kitchen", "garden"};
  for (int i = 0; i < products; ++i) {
    analyzer::v1::ProductInsights p;
    p.set_product_id(absl::StrCat("p", i));
    p.set_title(absl::StrCat(i % 2 == 0 ? "Kettle " : "Hose ", i));
    p.set_brand(i < 5 ? "Acme" : "Globex");
    p.set_category(categories[i % 2]);
    p.set_average_rating(1.0 + 4.0 * (i % 10) / 10);
    p.set_review_count(10 * (i + 1));
    p.set_sentiment(-0.9 + 0.2 * (i % 10));
    p.set_reviews_per_week(1.5 * i);
    p.set_price_cents(1999 + 100 * i);
    SetTime(absl::FromUnixSeconds(1700000000 + i), p.mutable_updated_at());
    products_.push_back(std::move(p));
  }
}

Status FakeAnalyzer::AnalyzeText(grpc::ServerContext* ctx, const analyzer::v1::AnalyzeTextRequest* req,
                                 analyzer::v1::TextAnalysis* resp) {
  const std::string& text = req->text();
  if (absl::StartsWith(text, "status:")) {
    StatusCode code;
    if (!CodeFromName(text.substr(7), &code))
      return Status(StatusCode::INVALID_ARGUMENT, "text: unknown code");
    return Status(code, absl::StrCat("text ", text));
  }
  if (absl::StartsWith(text, "field:")) {
    std::vector<std::string> parts = absl::StrSplit(text, ':');
    StatusCode code;
    if (parts.size() != 3 || !CodeFromName(parts[1], &code))
      return Status(StatusCode::INTERNAL, "bad test text");
    ctx->AddTrailingMetadata("x-error-field", parts[2]);
    return Status(code, "rejected by the backend");
  }
  if (absl::StartsWith(text, "retry:")) {
    ctx->AddTrailingMetadata("retry-after-ms", text.substr(6));
    return Status(StatusCode::RESOURCE_EXHAUSTED, "slow down");
  }
  if (absl::StartsWith(text, "sleep:")) {
    int ms = 0;
    (void)absl::SimpleAtoi(text.substr(6), &ms);
    const absl::Time until = absl::Now() + absl::Milliseconds(ms);
    sleeping.fetch_add(1);
    while (absl::Now() < until && !ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    sleeping.fetch_sub(1);
    if (ctx->IsCancelled()) {
      if (ctx->deadline() > std::chrono::system_clock::now()) cancelled.fetch_add(1);  // not the deadline
      return Status(StatusCode::CANCELLED, "cancelled");
    }
    resp->set_label("slept");
    return Status::OK;
  }
  if (text == "echo") {
    resp->set_label(logging::RequestIdFrom(*ctx));
    resp->set_sentiment(
        std::chrono::duration<double>(ctx->deadline() - std::chrono::system_clock::now()).count());
    return Status::OK;
  }
  if (text.empty()) return Status(StatusCode::INVALID_ARGUMENT, "text must not be empty");
  const bool negative = absl::StrContains(absl::AsciiStrToLower(text), "broke");
  resp->set_sentiment(negative ? -0.8 : 0.6);
  resp->set_label(negative ? "negative" : "positive");
  if (negative) {
    auto* issue = resp->add_issues();
    issue->set_category("durability");
    issue->set_sentence(text);
  }
  return Status::OK;
}

Status FakeAnalyzer::ListProductInsights(grpc::ServerContext*,
                                         const analyzer::v1::ListProductInsightsRequest* req,
                                         analyzer::v1::ListProductInsightsResponse* resp) {
  list_calls.fetch_add(1);
  const int page_size = req->page_size() == 0 ? 5 : req->page_size();
  if (page_size < 1 || page_size > 100)
    return Status(StatusCode::INVALID_ARGUMENT, "page_size must be 1..100");
  if (!req->sentiment().empty() && req->sentiment() != "negative" && req->sentiment() != "neutral" &&
      req->sentiment() != "positive") {
    return Status(StatusCode::INVALID_ARGUMENT, "sentiment must be negative, neutral or positive");
  }
  int offset = 0;
  if (!req->page_token().empty() && !absl::SimpleAtoi(req->page_token(), &offset)) {
    return Status(StatusCode::INVALID_ARGUMENT, "page_token is not one this service gave out");
  }
  std::vector<const analyzer::v1::ProductInsights*> matched;
  for (const auto& p : products_) {
    if (!req->category().empty() && p.category() != req->category()) continue;
    if (p.average_rating() < req->min_rating()) continue;
    if (!req->q().empty() &&
        !absl::StrContains(absl::AsciiStrToLower(p.title()), absl::AsciiStrToLower(req->q()))) {
      continue;
    }
    if (req->sentiment() == "negative" && p.sentiment() >= -0.2) continue;
    if (req->sentiment() == "positive" && p.sentiment() <= 0.2) continue;
    matched.push_back(&p);
  }
  if (req->sort() == "-rating") {
    std::sort(matched.begin(), matched.end(),
              [](auto* a, auto* b) { return a->average_rating() > b->average_rating(); });
  }
  for (int i = offset; i < static_cast<int>(matched.size()) && i < offset + page_size; ++i) {
    *resp->add_products() = *matched[i];
  }
  if (offset + page_size < static_cast<int>(matched.size()))
    resp->set_next_page_token(absl::StrCat(offset + page_size));
  resp->set_total_size(static_cast<int64_t>(matched.size()));
  return Status::OK;
}

Status FakeAnalyzer::GetProductInsights(grpc::ServerContext*,
                                        const analyzer::v1::GetProductInsightsRequest* req,
                                        analyzer::v1::ProductInsights* resp) {
  for (const auto& p : products_) {
    if (p.product_id() != req->product_id()) continue;
    *resp = p;
    for (int w = 0; w < 3; ++w) {
      auto* point = resp->add_weekly();
      SetTime(absl::FromUnixSeconds(1700000000 + w * 7 * 86400), point->mutable_week_start());
      point->set_average_rating(p.average_rating() - 0.1 * w);
      point->set_sentiment(p.sentiment());
      point->set_reviews(5 + w);
    }
    auto* issue = resp->add_issues();
    issue->set_category("durability");
    issue->set_share(0.25);
    issue->set_count(3);
    issue->add_quotes("it broke after a week");
    auto* feature = resp->add_features();
    feature->set_aspect("handle");
    feature->set_mentions(4);
    feature->set_polarity(-0.5);
    return Status::OK;
  }
  return Status(StatusCode::NOT_FOUND, absl::StrCat("product_id \"", req->product_id(), "\" not found"));
}

Status FakeAnalyzer::ListProductReviews(grpc::ServerContext*,
                                        const analyzer::v1::ListProductReviewsRequest* req,
                                        analyzer::v1::ListProductReviewsResponse* resp) {
  for (int i = 0; i < 2; ++i) {
    auto* r = resp->add_reviews();
    r->set_review_id(absl::StrCat(req->product_id(), "-r", i));
    r->set_rating(i == 0 ? 1 : 5);
    r->set_text(i == 0 ? "it broke" : "love it");
    SetTime(absl::FromUnixSeconds(1700000000), r->mutable_created_at());
  }
  return Status::OK;
}

Status FakeAnalyzer::ListAlerts(grpc::ServerContext*, const analyzer::v1::ListAlertsRequest* req,
                                analyzer::v1::ListAlertsResponse* resp) {
  alert_list_calls.fetch_add(1);
  auto* a = resp->add_alerts();
  a->set_id("a1");
  a->set_product_id(req->product_id().empty() ? "p0" : req->product_id());
  a->set_kind("rating_drop");
  a->set_before(4.2);
  a->set_after(3.1);
  a->set_message("average rating fell from 4.2 to 3.1");
  SetTime(absl::FromUnixSeconds(1700000000), a->mutable_raised_at());
  SetTime(absl::FromUnixSeconds(1699000000), a->mutable_since());          // 2023-11-03
  SetTime(absl::FromUnixSeconds(1697000000), a->mutable_changed_after());  // 2023-10-11
  // The date's 90% credible range: the change could have started between these first reviews.
  SetTime(absl::FromUnixSeconds(1695000000), a->mutable_since_earliest());  // 2023-09-18
  SetTime(absl::FromUnixSeconds(1699500000), a->mutable_since_latest());    // 2023-11-09
  if (req->state() == "resolved") {                                         // a past change: reverted since
    a->set_id("a0");
    a->set_state("resolved");
    a->set_message("From 2023-09-01 to 2023-10-15 (recovered since): average rating 2.9, was 4.3");
    SetTime(absl::FromUnixSeconds(1693526400), a->mutable_since());
    a->clear_changed_after();
    a->clear_since_earliest();
    a->clear_since_latest();
    SetTime(absl::FromUnixSeconds(1697328000), a->mutable_resolved_at());
  }
  return Status::OK;
}

Status FakeAnalyzer::AcknowledgeAlert(grpc::ServerContext*, const analyzer::v1::AlertActionRequest* req,
                                      analyzer::v1::Alert* resp) {
  resp->set_id(req->id());
  resp->set_state("acknowledged");
  SetTime(absl::FromUnixSeconds(1700000100), resp->mutable_acknowledged_at());
  return Status::OK;
}

Status FakeAnalyzer::ResolveAlert(grpc::ServerContext*, const analyzer::v1::AlertActionRequest* req,
                                  analyzer::v1::Alert* resp) {
  resp->set_id(req->id());
  resp->set_state("resolved");
  SetTime(absl::FromUnixSeconds(1700000200), resp->mutable_resolved_at());
  return Status::OK;
}

Status FakeAnalyzer::GenerateContent(grpc::ServerContext*, const analyzer::v1::GenerateContentRequest* req,
                                     analyzer::v1::GenerateContentResponse* resp) {
  resp->set_customer_id(req->customer_id());
  resp->set_subject("A kettle you will like");
  resp->set_body("Hello");
  resp->set_backend("local");
  return Status::OK;
}

Status FakeAnalyzer::SummarizeInteractions(grpc::ServerContext*,
                                           const analyzer::v1::SummarizeInteractionsRequest* req,
                                           analyzer::v1::SummarizeInteractionsResponse* resp) {
  resp->set_customer_id(req->customer_id());
  resp->set_total_interactions(3);
  resp->set_most_frequent_channel("email");
  resp->set_summary("three emails");
  return Status::OK;
}

Status FakeAnalyzer::TopPerformers(grpc::ServerContext*, const analyzer::v1::TopPerformersRequest* req,
                                   analyzer::v1::TopPerformersResponse* resp) {
  if (req->campaign_id().empty()) return Status(StatusCode::INVALID_ARGUMENT, "campaign_id is required");
  const int limit = req->limit() == 0 ? 3 : req->limit();
  for (int i = 0; i < limit; ++i) {
    auto* p = resp->add_performers();
    p->set_influencer(absl::StrCat(req->campaign_id(), "-inf", i));
    p->set_platform("instagram");
    p->set_posts(10 - i);
    p->set_views(1000000LL * (10 - i));
    p->set_engagement_rate(0.05);
  }
  return Status::OK;
}

Status FakeAnalyzer::InteractionsByProduct(grpc::ServerContext*,
                                           const analyzer::v1::InteractionsByProductRequest* req,
                                           analyzer::v1::InteractionsByProductResponse* resp) {
  auto* p = resp->add_products();
  p->set_product_id(req->customer_type().empty() ? "all" : req->customer_type());
  p->set_interactions(7);
  return Status::OK;
}

// ---- Recommender --------------------------------------------------------------------------------------

FakeRecommender::FakeRecommender() {
  for (const char* v : {"als-1", "als-2"}) {
    recommender::v1::Model m;
    m.set_version(v);
    m.set_algorithm("als");
    (*m.mutable_params())["factors"] = "32";
    (*m.mutable_metrics())["ndcg@10"] = 0.31;
    m.set_promoted(std::string(v) == "als-1");
    SetTime(absl::FromUnixSeconds(1700000000), m.mutable_trained_at());
    models_.push_back(std::move(m));
  }
  promotions_.push_back("als-1");
}

Status FakeRecommender::Recommend(grpc::ServerContext*, const recommender::v1::RecommendRequest* req,
                                  recommender::v1::RecommendResponse* resp) {
  const int n = req->n() == 0 ? 10 : req->n();
  if (n < 1 || n > 100) return Status(StatusCode::INVALID_ARGUMENT, "n must be 1..100");
  std::vector<std::string> skipped;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& f : feedback_) {
      if (f.user_id() == req->user_id() && f.event() == recommender::v1::FEEDBACK_EVENT_SKIP) {
        skipped.push_back(f.item_id());
      }
    }
  }
  for (int i = 0, added = 0; added < n && i < 1000; ++i) {
    const std::string item = absl::StrCat("p", i);
    if (std::find(skipped.begin(), skipped.end(), item) != skipped.end()) continue;
    auto* r = resp->add_items();
    r->set_item_id(item);
    r->set_score(1.0 - 0.01 * i);
    r->set_reason(
        req->session_items_size() > 0
            ? absl::StrCat("because you viewed ", req->session_items(0))
            : absl::StrCat("popular on ", req->surface().empty() ? "home" : req->surface(),
                           req->context().device().empty() ? "" : " for " + req->context().device()));
    r->set_source("als");
    if (i % 2 == 0) {  // odd items have no catalogue details: clients fall back to the id
      r->set_title(absl::StrCat("Item ", item));
      r->set_category(i % 4 == 0 ? "kitchen" : "garden");
      r->set_price(10.0 + i);
    }
    ++added;
  }
  resp->set_model_version("als-1");
  return Status::OK;
}

Status FakeRecommender::SimilarItems(grpc::ServerContext*, const recommender::v1::SimilarItemsRequest* req,
                                     recommender::v1::ItemsResponse* resp) {
  if (req->item_id().empty()) return Status(StatusCode::INVALID_ARGUMENT, "item_id is required");
  for (int i = 0; i < (req->n() == 0 ? 3 : req->n()); ++i) {
    auto* r = resp->add_items();
    r->set_item_id(absl::StrCat(req->item_id(), "-sim", i));
    r->set_reason(absl::StrCat("similar to ", req->item_id()));
  }
  return Status::OK;
}

Status FakeRecommender::FrequentlyBoughtTogether(grpc::ServerContext*,
                                                 const recommender::v1::FrequentlyBoughtTogetherRequest* req,
                                                 recommender::v1::ItemsResponse* resp) {
  for (const std::string& id : req->item_ids()) {
    auto* r = resp->add_items();
    r->set_item_id(absl::StrCat(id, "-fbt"));
    r->set_reason(absl::StrCat("bought with ", id));
  }
  return Status::OK;
}

Status FakeRecommender::Rerank(grpc::ServerContext*, const recommender::v1::RerankRequest* req,
                               recommender::v1::ItemsResponse* resp) {
  for (auto it = req->item_ids().rbegin(); it != req->item_ids().rend(); ++it)
    resp->add_items()->set_item_id(*it);
  return Status::OK;
}

Status FakeRecommender::RecordFeedback(grpc::ServerContext*,
                                       const recommender::v1::RecordFeedbackRequest* req,
                                       recommender::v1::RecordFeedbackResponse*) {
  if (req->user_id().empty()) return Status(StatusCode::INVALID_ARGUMENT, "user_id is required");
  if (req->event() == recommender::v1::FEEDBACK_EVENT_UNSPECIFIED) {
    return Status(StatusCode::INVALID_ARGUMENT, "event is required");
  }
  absl::MutexLock lock(&mu_);
  feedback_.push_back(*req);
  return Status::OK;
}

Status FakeRecommender::EraseUser(grpc::ServerContext* ctx, const privacy::v1::EraseUserRequest* req,
                                  privacy::v1::EraseUserResponse* resp) {
  recommender::v1::ForgetUserRequest forget;
  forget.set_user_id(req->user_id());
  recommender::v1::ForgetUserResponse forgotten;
  if (req->user_id().empty()) return FakeErase("", 0, req, resp);
  (void)ForgetUser(ctx, &forget, &forgotten);
  return FakeErase("recsys.events", forgotten.events_deleted(), req, resp);
}

Status FakeRecommender::ExportUser(grpc::ServerContext*, const privacy::v1::ExportUserRequest* req,
                                   privacy::v1::ExportUserResponse* resp) {
  return FakeExport("recommender", req, resp);
}

Status FakeAnalyzer::EraseUser(grpc::ServerContext*, const privacy::v1::EraseUserRequest* req,
                               privacy::v1::EraseUserResponse* resp) {
  return FakeErase("retrieval_index", 1, req, resp);
}

Status FakeAnalyzer::ExportUser(grpc::ServerContext*, const privacy::v1::ExportUserRequest* req,
                                privacy::v1::ExportUserResponse* resp) {
  return FakeExport("analyzer", req, resp);
}

Status FakeCollector::EraseUser(grpc::ServerContext*, const privacy::v1::EraseUserRequest* req,
                                privacy::v1::EraseUserResponse* resp) {
  return FakeErase("raw.customers", 1, req, resp);
}

Status FakeCollector::ExportUser(grpc::ServerContext*, const privacy::v1::ExportUserRequest* req,
                                 privacy::v1::ExportUserResponse* resp) {
  return FakeExport("collector", req, resp);
}

Status FakeRecommender::ForgetUser(grpc::ServerContext*, const recommender::v1::ForgetUserRequest* req,
                                   recommender::v1::ForgetUserResponse* resp) {
  absl::MutexLock lock(&mu_);
  const size_t before = feedback_.size();
  feedback_.erase(std::remove_if(feedback_.begin(), feedback_.end(),
                                 [&](const auto& f) { return f.user_id() == req->user_id(); }),
                  feedback_.end());
  resp->set_events_deleted(static_cast<int64_t>(before - feedback_.size()));
  return Status::OK;
}

Status FakeRecommender::ListModels(grpc::ServerContext*, const recommender::v1::ListModelsRequest*,
                                   recommender::v1::ListModelsResponse* resp) {
  absl::MutexLock lock(&mu_);
  for (const auto& m : models_) *resp->add_models() = m;
  return Status::OK;
}

Status FakeRecommender::PromoteModel(grpc::ServerContext*, const recommender::v1::PromoteModelRequest* req,
                                     recommender::v1::Model* resp) {
  absl::MutexLock lock(&mu_);
  bool found = false;
  for (const auto& m : models_) found = found || m.version() == req->version();
  if (!found)
    return Status(StatusCode::NOT_FOUND, absl::StrCat("version ", req->version(), " is not registered"));
  for (auto& m : models_) {
    m.set_promoted(m.version() == req->version());
    if (m.promoted()) *resp = m;
  }
  promotions_.push_back(req->version());
  return Status::OK;
}

Status FakeRecommender::RollbackModel(grpc::ServerContext*, const recommender::v1::RollbackModelRequest*,
                                      recommender::v1::Model* resp) {
  absl::MutexLock lock(&mu_);
  if (promotions_.size() < 2) return Status(StatusCode::FAILED_PRECONDITION, "nothing to roll back to");
  promotions_.pop_back();
  for (auto& m : models_) {
    m.set_promoted(m.version() == promotions_.back());
    if (m.promoted()) *resp = m;
  }
  return Status::OK;
}

Status FakeRecommender::GetExperimentResults(grpc::ServerContext*,
                                             const recommender::v1::GetExperimentResultsRequest* req,
                                             recommender::v1::ExperimentResults* resp) {
  resp->set_experiment_id(req->experiment_id());
  for (const char* v : {"control", "treatment"}) {
    auto* r = resp->add_variants();
    r->set_variant(v);
    r->set_users(100);
    r->set_impressions(1000);
  }
  resp->set_p_value(0.04);
  return Status::OK;
}

std::vector<recommender::v1::RecordFeedbackRequest> FakeRecommender::feedback() {
  absl::MutexLock lock(&mu_);
  return feedback_;
}

// ---- Collector ----------------------------------------------------------------------------------------

Status FakeCollector::StartCrawl(grpc::ServerContext*, const collector::v1::StartCrawlRequest* req,
                                 collector::v1::Crawl* resp) {
  absl::MutexLock lock(&mu_);
  collector::v1::Crawl c;
  c.set_id(absl::StrCat("crawl-", crawls_.size() + 1));
  c.set_mode(req->mode() == collector::v1::CRAWL_MODE_UNSPECIFIED ? collector::v1::CRAWL_MODE_INCREMENTAL
                                                                  : req->mode());
  c.set_state(collector::v1::CRAWL_STATE_RUNNING);
  c.set_eta_seconds(-1);
  for (const std::string& r : req->resources()) c.add_resources()->set_resource(r);
  SetTime(absl::FromUnixSeconds(1700000000), c.mutable_started_at());
  crawls_.push_back(c);
  *resp = c;
  return Status::OK;
}

Status FakeCollector::GetCrawl(grpc::ServerContext*, const collector::v1::GetCrawlRequest* req,
                               collector::v1::Crawl* resp) {
  absl::MutexLock lock(&mu_);
  for (const auto& c : crawls_) {
    if (c.id() == req->crawl_id()) {
      *resp = c;
      return Status::OK;
    }
  }
  return Status(StatusCode::NOT_FOUND, absl::StrCat("crawl_id ", req->crawl_id(), " not found"));
}

Status FakeCollector::ListCrawls(grpc::ServerContext*, const collector::v1::ListCrawlsRequest*,
                                 collector::v1::ListCrawlsResponse* resp) {
  absl::MutexLock lock(&mu_);
  for (const auto& c : crawls_) *resp->add_crawls() = c;
  return Status::OK;
}

Status FakeCollector::ListPriceHistory(grpc::ServerContext*,
                                       const collector::v1::ListPriceHistoryRequest* req,
                                       collector::v1::ListPriceHistoryResponse* resp) {
  if (req->product_id().empty()) return Status(StatusCode::INVALID_ARGUMENT, "product_id is required");
  if (req->page_size() < 0 || req->page_size() > 1000) {
    return Status(StatusCode::INVALID_ARGUMENT, "page_size must be 0..1000");
  }
  int index = 0;
  if (req->product_id()[0] != 'p' || !absl::SimpleAtoi(req->product_id().substr(1), &index)) {
    return Status(StatusCode::NOT_FOUND,
                  absl::StrCat("product_id \"", req->product_id(), "\" is not a known product"));
  }
  resp->set_product_id(req->product_id());
  resp->set_currency("USD");
  const int64_t newest = 1717200000;  // 2024-06-01
  for (int i = 0; i < 6; ++i) {
    auto* p = resp->add_points();
    p->mutable_seen_at()->set_seconds(newest - i * 7 * 86400);
    p->set_price_cents(1000 + 100 * index + 50 * ((i * 7) % 5));
    p->set_price(static_cast<double>(p->price_cents()) / 100);
    p->set_stock(20 + i);
    p->set_rating_average(4.0 - 0.1 * i);
    p->set_rating_count(100 - i);
  }
  return Status::OK;
}

Status FakeCollector::ListShoppers(grpc::ServerContext*, const collector::v1::ListShoppersRequest* req,
                                   collector::v1::ListShoppersResponse* resp) {
  if (req->page_size() < 0 || req->page_size() > 500) {
    return Status(StatusCode::INVALID_ARGUMENT, "page_size must be 0..500");
  }
  for (int i = 1; i <= 8; ++i) {
    const std::string segment = i % 2 == 1 ? "loyal" : "new";
    if (!req->segment().empty() && req->segment() != segment) continue;
    auto* s = resp->add_shoppers();
    s->set_id(absl::StrCat("C000000", i));
    s->set_name(absl::StrCat("Shopper ", i));
    s->set_segment(segment);
    s->set_region("north");
    s->set_interactions(10 * i);
  }
  return Status::OK;
}

Status FakeCollector::ListCampaigns(grpc::ServerContext*, const collector::v1::ListCampaignsRequest* req,
                                    collector::v1::ListCampaignsResponse* resp) {
  if (req->page_size() < 0 || req->page_size() > 500) {
    return Status(StatusCode::INVALID_ARGUMENT, "page_size must be 0..500");
  }
  int i = 0;
  for (const char* id : {"CMP0001", "CMP0002", "CMP0042"}) {
    ++i;
    auto* c = resp->add_campaigns();
    c->set_campaign_id(id);
    c->set_posts(10 * i);
    c->set_influencers(3 * i);
    c->set_total_views(100000 * i);
    c->set_mean_engagement_rate(0.02 * i);
    c->mutable_first_post_at()->set_seconds(1704067200);
    c->mutable_last_post_at()->set_seconds(1704067200 + 86400 * 30 * i);
  }
  return Status::OK;
}

Status FakeCollector::IngestFile(grpc::ServerContext*,
                                 grpc::ServerReader<collector::v1::IngestFileChunk>* reader,
                                 collector::v1::IngestReport* resp) {
  collector::v1::IngestFileChunk chunk;
  std::string data;
  std::string kind;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) {
      first = false;
      if (!chunk.has_header())
        return Status(StatusCode::INVALID_ARGUMENT, "the first chunk must carry the header");
      const std::string name = collector::v1::IngestKind_Name(chunk.header().kind());
      if (chunk.header().kind() != collector::v1::INGEST_KIND_UNSPECIFIED) {
        kind = absl::AsciiStrToLower(absl::StripPrefix(name, "INGEST_KIND_"));
      }
    }
    data += chunk.data();
  }
  if (absl::StartsWith(data, "PK")) {
    return Status(StatusCode::INVALID_ARGUMENT, "the fake collector reads CSV only, not workbooks");
  }
  int64_t line_no = 0;
  size_t header_fields = 0;
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    ++line_no;
    line = absl::StripSuffix(line, "\r");
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (header_fields == 0) {
      header_fields = fields.size();
      if (kind.empty()) kind = absl::StrContains(line, "customer") ? "contacts" : "campaign_posts";
      continue;
    }
    resp->set_rows(resp->rows() + 1);
    if (fields.size() == header_fields) {
      resp->set_accepted(resp->accepted() + 1);
      continue;
    }
    resp->set_rejected(resp->rejected() + 1);
    auto* reject = resp->add_rejects();
    reject->set_line(line_no);
    reject->set_reason(
        absl::StrCat("malformed line: ", fields.size(), " fields but the header has ", header_fields));
  }
  if (header_fields == 0) return Status(StatusCode::INVALID_ARGUMENT, "the file is empty");
  resp->set_kind(kind);
  resp->set_bytes(static_cast<int64_t>(data.size()));
  resp->set_file_id(absl::StrCat("fake-", ingested_files.fetch_add(1) + 1));
  return Status::OK;
}

Status FakeCollector::CancelCrawl(grpc::ServerContext*, const collector::v1::CancelCrawlRequest* req,
                                  collector::v1::Crawl* resp) {
  absl::MutexLock lock(&mu_);
  for (auto& c : crawls_) {
    if (c.id() == req->crawl_id()) {
      if (c.state() != collector::v1::CRAWL_STATE_RUNNING) {
        return Status(StatusCode::FAILED_PRECONDITION, "crawl is not running");
      }
      c.set_state(collector::v1::CRAWL_STATE_CANCELLED);
      *resp = c;
      return Status::OK;
    }
  }
  return Status(StatusCode::NOT_FOUND, absl::StrCat("crawl_id ", req->crawl_id(), " not found"));
}

// ---- Servers ------------------------------------------------------------------------------------------

namespace {

std::unique_ptr<server::Server> Serve(const std::string& name, grpc::Service* service) {
  auto s = std::make_unique<server::Server>(server::ServerOptions{.service_name = name,
                                                                  .grpc_address = "127.0.0.1:0",
                                                                  .metrics_address = "",
                                                                  .drain_timeout = absl::Seconds(1)});
  s->AddService(service);
  if (absl::Status st = s->Start(); !st.ok()) {
    std::cerr << "cannot start the fake " << name << ": " << st << "\n";
    std::abort();
  }
  return s;
}

}  // namespace

std::unique_ptr<FakeBackends> FakeBackends::Start(int products) {
  auto b = std::make_unique<FakeBackends>(products);
  b->analyzer_server = Serve("fake-analyzer", &b->analyzer);
  b->recommender_server = Serve("fake-recommender", &b->recommender);
  b->collector_server = Serve("fake-collector", &b->collector);
  return b;
}

std::string FakeBackends::analyzer_address() const {
  return absl::StrCat("127.0.0.1:", analyzer_server->grpc_port());
}
std::string FakeBackends::recommender_address() const {
  return absl::StrCat("127.0.0.1:", recommender_server->grpc_port());
}
std::string FakeBackends::collector_address() const {
  return absl::StrCat("127.0.0.1:", collector_server->grpc_port());
}

}  // namespace marketlens::gateway::testing
