#include "services/marketplace/marketplace_service.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace marketlens::marketplace {
namespace {

grpc::Status InvalidArgument(absl::string_view message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(message));
}

grpc::Status FromAbsl(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// A timestamp filter: unset -> nullopt; out of range -> INVALID_ARGUMENT naming the field.
grpc::Status TimeFilter(bool has, const google::protobuf::Timestamp& ts, absl::string_view field,
                        std::optional<absl::Time>* out) {
  if (!has) {
    *out = std::nullopt;
    return grpc::Status::OK;
  }
  // 0001-01-01 .. 9999-12-31, nanos 0..999,999,999 (google.protobuf.Timestamp's valid range).
  if (ts.seconds() < -62135596800LL || ts.seconds() > 253402300799LL || ts.nanos() < 0 ||
      ts.nanos() > 999999999) {
    return InvalidArgument(absl::StrCat(field, " is not a valid timestamp"));
  }
  *out = FromProto(ts);
  return grpc::Status::OK;
}

// Filters rendered unambiguously (length-prefixed) for the page token's MAC.
class Filters {
 public:
  Filters& Add(absl::string_view name, absl::string_view value) {
    absl::StrAppend(&s_, name, "=", value.size(), ":", value, ";");
    return *this;
  }
  Filters& Add(absl::string_view name, const std::optional<absl::Time>& t) {
    return Add(name, t ? absl::StrCat(absl::ToUnixNanos(*t)) : std::string("-"));
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

std::string Metadata(const grpc::ServerContext* ctx, absl::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

absl::StatusOr<int> ResolvePageSize(bool has_page_size, int32_t page_size) {
  if (!has_page_size) return kDefaultPageSize;
  if (page_size < 1 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size must be 1..", kMaxPageSize, " (or unset for ",
                                                   kDefaultPageSize, "); got ", page_size));
  }
  return page_size;
}

std::string CallerKey(absl::string_view caller_id, absl::string_view peer) {
  caller_id = absl::StripAsciiWhitespace(caller_id);
  if (!caller_id.empty()) return absl::StrCat("id:", caller_id.substr(0, 128));
  // "ipv4:1.2.3.4:port", "ipv6:[::1]:port", "unix:/path" (kept whole).
  if (absl::StartsWith(peer, "ipv4:") || absl::StartsWith(peer, "ipv6:")) {
    const size_t colon = peer.rfind(':');
    const size_t bracket = peer.rfind(']');
    if (colon != absl::string_view::npos && colon > 4 &&
        (bracket == absl::string_view::npos || colon > bracket)) {
      return absl::StrCat("peer:", peer.substr(0, colon));
    }
  }
  return absl::StrCat("peer:", peer);
}

MarketplaceServiceImpl::MarketplaceServiceImpl(World* world, ServiceOptions options)
    : world_(world),
      options_(std::move(options)),
      faults_(options_.faults, options_.fault_seed),
      tokens_(options_.page_token_key),
      clock_speed_(options_.clock_speed) {
  if (options_.rate_limit_rps > 0) {
    limiter_ = std::make_unique<retry::KeyedRateLimiter>(
        options_.rate_limit_rps, std::max(1.0, options_.rate_limit_burst), options_.clock);
  }
  if (options_.registry) {
    rate_limited_ = &prometheus::BuildCounter()
                         .Name("marketplace_rate_limited_total")
                         .Help("Calls refused with RESOURCE_EXHAUSTED by the per-caller rate limit.")
                         .Register(*options_.registry)
                         .Add({});
    auto& faults = prometheus::BuildCounter()
                       .Name("marketplace_faults_injected_total")
                       .Help("Faults injected into calls, by kind.")
                       .Register(*options_.registry);
    faults_unavailable_ = &faults.Add({{"kind", "unavailable"}});
    faults_internal_ = &faults.Add({{"kind", "internal"}});
    faults_slow_ = &faults.Add({{"kind", "slow"}});
  }
}

grpc::Status MarketplaceServiceImpl::Admit(grpc::ServerContext* ctx, bool faultable) {
  if (limiter_) {
    const std::string key = CallerKey(Metadata(ctx, kCallerIdKey), ctx->peer());
    const absl::Duration wait = limiter_->TryAcquire(key);
    if (wait > absl::ZeroDuration()) {
      const int64_t ms =
          std::max<int64_t>(1, static_cast<int64_t>(std::ceil(absl::ToDoubleMilliseconds(wait))));
      ctx->AddTrailingMetadata(kRetryAfterKey, absl::StrCat(ms));
      if (rate_limited_ != nullptr) rate_limited_->Increment();
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("rate limit of ", options_.rate_limit_rps,
                                       " requests/s exceeded; retry after ", ms, " ms"));
    }
  }
  if (!faultable) return grpc::Status::OK;
  absl::StatusOr<Fault> fault = faults_.Decide(Metadata(ctx, kFaultMetadataKey));
  if (!fault.ok()) return FromAbsl(fault.status());
  switch (*fault) {
    case Fault::kNone:
      return grpc::Status::OK;
    case Fault::kUnavailable:
      if (faults_unavailable_ != nullptr) faults_unavailable_->Increment();
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "injected fault: service temporarily unavailable");
    case Fault::kInternal:
      if (faults_internal_ != nullptr) faults_internal_->Increment();
      return grpc::Status(grpc::StatusCode::INTERNAL, "injected fault: internal error");
    case Fault::kSlow: {
      if (faults_slow_ != nullptr) faults_slow_->Increment();
      const auto deadline = ctx->deadline();
      const absl::Time deadline_abs = deadline == std::chrono::system_clock::time_point::max()
                                          ? absl::InfiniteFuture()
                                          : absl::FromChrono(deadline);
      const absl::Time until = absl::Now() + faults_.SlowDelay(absl::Now(), deadline_abs);
      while (absl::Now() < until) {
        if (ctx->IsCancelled()) {
          return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                              "injected fault: slow answer passed the deadline");
        }
        absl::SleepFor(std::min(absl::Milliseconds(10), until - absl::Now()));
      }
      if (ctx->IsCancelled()) {
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                            "injected fault: slow answer passed the deadline");
      }
      return grpc::Status::OK;  // slow, but the caller is still waiting: answer
    }
  }
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::Paging(bool has_page_size, int32_t page_size, const std::string& token,
                                            absl::string_view list, absl::string_view filters, int* limit,
                                            std::string* after) const {
  absl::StatusOr<int> size = ResolvePageSize(has_page_size, page_size);
  if (!size.ok()) return FromAbsl(size.status());
  *limit = *size;
  after->clear();
  if (!token.empty()) {
    absl::StatusOr<std::string> key = tokens_.Decode(token, list, filters);
    if (!key.ok()) return FromAbsl(key.status());
    *after = *std::move(key);
    if (after->empty()) return InvalidArgument("invalid page_token: empty position");
  }
  return grpc::Status::OK;
}

std::string MarketplaceServiceImpl::NextToken(absl::string_view list, absl::string_view filters,
                                              const std::string& next_after) const {
  return next_after.empty() ? std::string() : tokens_.Encode(list, filters, next_after);
}

grpc::Status MarketplaceServiceImpl::ListProducts(grpc::ServerContext* ctx,
                                                  const v1::ListProductsRequest* req,
                                                  v1::ListProductsResponse* resp) {
  if (grpc::Status s = Admit(ctx, true); !s.ok()) return s;
  World::ProductQuery q;
  q.category = req->category();
  if (grpc::Status s =
          TimeFilter(req->has_updated_since(), req->updated_since(), "updated_since", &q.updated_since);
      !s.ok()) {
    return s;
  }
  const std::string filters =
      Filters().Add("category", q.category).Add("updated_since", q.updated_since).str();
  if (grpc::Status s = Paging(req->has_page_size(), req->page_size(), req->page_token(), "products", filters,
                              &q.limit, &q.after);
      !s.ok()) {
    return s;
  }
  Page<v1::Product> page = world_->ListProducts(q);
  for (auto& p : page.items) *resp->add_products() = std::move(p);
  resp->set_next_page_token(NextToken("products", filters, page.next_after));
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::GetProduct(grpc::ServerContext* ctx, const v1::GetProductRequest* req,
                                                v1::Product* resp) {
  if (grpc::Status s = Admit(ctx, true); !s.ok()) return s;
  if (req->product_id().empty()) return InvalidArgument("product_id is required");
  std::optional<v1::Product> p = world_->GetProduct(req->product_id());
  if (!p) return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no product ", req->product_id()));
  *resp = *std::move(p);
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::ListReviews(grpc::ServerContext* ctx, const v1::ListReviewsRequest* req,
                                                 v1::ListReviewsResponse* resp) {
  if (grpc::Status s = Admit(ctx, true); !s.ok()) return s;
  World::ReviewQuery q;
  q.product_id = req->product_id();
  if (grpc::Status s = TimeFilter(req->has_since(), req->since(), "since", &q.since); !s.ok()) return s;
  const std::string filters = Filters().Add("product_id", q.product_id).Add("since", q.since).str();
  if (grpc::Status s = Paging(req->has_page_size(), req->page_size(), req->page_token(), "reviews", filters,
                              &q.limit, &q.after);
      !s.ok()) {
    return s;
  }
  if (!q.product_id.empty() && !world_->HasProduct(q.product_id)) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no product ", q.product_id));
  }
  Page<v1::Review> page = world_->ListReviews(q);
  for (auto& r : page.items) *resp->add_reviews() = std::move(r);
  resp->set_next_page_token(NextToken("reviews", filters, page.next_after));
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::ListCustomers(grpc::ServerContext* ctx,
                                                   const v1::ListCustomersRequest* req,
                                                   v1::ListCustomersResponse* resp) {
  if (grpc::Status s = Admit(ctx, true); !s.ok()) return s;
  std::optional<absl::Time> since;
  if (grpc::Status s = TimeFilter(req->has_updated_since(), req->updated_since(), "updated_since", &since);
      !s.ok()) {
    return s;
  }
  const std::string filters = Filters().Add("updated_since", since).str();
  int limit = 0;
  std::string after;
  if (grpc::Status s = Paging(req->has_page_size(), req->page_size(), req->page_token(), "customers", filters,
                              &limit, &after);
      !s.ok()) {
    return s;
  }
  Page<v1::Customer> page = world_->ListCustomers(after, limit, since);
  for (auto& c : page.items) *resp->add_customers() = std::move(c);
  resp->set_next_page_token(NextToken("customers", filters, page.next_after));
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::ListInteractions(grpc::ServerContext* ctx,
                                                      const v1::ListInteractionsRequest* req,
                                                      v1::ListInteractionsResponse* resp) {
  if (grpc::Status s = Admit(ctx, true); !s.ok()) return s;
  World::InteractionQuery q;
  q.customer_id = req->customer_id();
  if (grpc::Status s = TimeFilter(req->has_since(), req->since(), "since", &q.since); !s.ok()) return s;
  const std::string filters = Filters().Add("customer_id", q.customer_id).Add("since", q.since).str();
  if (grpc::Status s = Paging(req->has_page_size(), req->page_size(), req->page_token(), "interactions",
                              filters, &q.limit, &q.after);
      !s.ok()) {
    return s;
  }
  if (!q.customer_id.empty() && !world_->HasCustomer(q.customer_id)) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no customer ", q.customer_id));
  }
  Page<v1::Interaction> page = world_->ListInteractions(q);
  for (auto& i : page.items) *resp->add_interactions() = std::move(i);
  resp->set_next_page_token(NextToken("interactions", filters, page.next_after));
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::ListCampaignPosts(grpc::ServerContext* ctx,
                                                       const v1::ListCampaignPostsRequest* req,
                                                       v1::ListCampaignPostsResponse* resp) {
  if (grpc::Status s = Admit(ctx, true); !s.ok()) return s;
  std::optional<absl::Time> since;
  if (grpc::Status s = TimeFilter(req->has_updated_since(), req->updated_since(), "updated_since", &since);
      !s.ok()) {
    return s;
  }
  const std::string filters =
      Filters().Add("campaign_id", req->campaign_id()).Add("updated_since", since).str();
  int limit = 0;
  std::string after;
  if (grpc::Status s = Paging(req->has_page_size(), req->page_size(), req->page_token(), "campaign_posts",
                              filters, &limit, &after);
      !s.ok()) {
    return s;
  }
  Page<v1::CampaignPost> page = world_->ListCampaignPosts(req->campaign_id(), after, limit, since);
  for (auto& p : page.items) *resp->add_posts() = std::move(p);
  resp->set_next_page_token(NextToken("campaign_posts", filters, page.next_after));
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::ListContacts(grpc::ServerContext* ctx,
                                                  const v1::ListContactsRequest* req,
                                                  v1::ListContactsResponse* resp) {
  if (grpc::Status s = Admit(ctx, true); !s.ok()) return s;
  World::ContactQuery q;
  q.customer_id = req->customer_id();
  if (grpc::Status s = TimeFilter(req->has_since(), req->since(), "since", &q.since); !s.ok()) return s;
  const std::string filters = Filters().Add("customer_id", q.customer_id).Add("since", q.since).str();
  if (grpc::Status s = Paging(req->has_page_size(), req->page_size(), req->page_token(), "contacts", filters,
                              &q.limit, &q.after);
      !s.ok()) {
    return s;
  }
  if (!q.customer_id.empty() && !world_->HasCustomer(q.customer_id)) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no customer ", q.customer_id));
  }
  Page<v1::Contact> page = world_->ListContacts(q);
  for (auto& c : page.items) *resp->add_contacts() = std::move(c);
  resp->set_next_page_token(NextToken("contacts", filters, page.next_after));
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::GetWorldInfo(grpc::ServerContext* ctx, const v1::GetWorldInfoRequest*,
                                                  v1::WorldInfo* resp) {
  if (grpc::Status s = Admit(ctx, false); !s.ok()) return s;
  *resp = world_->Info();
  resp->set_clock_speed(clock_speed_.load());
  return grpc::Status::OK;
}

grpc::Status MarketplaceServiceImpl::ListTruth(grpc::ServerContext*, const v1::ListTruthRequest* req,
                                               v1::ListTruthResponse* resp) {
  if (!world_->has_truth()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "no planted truth: this marketplace replays real data");
  }
  std::string list;
  switch (req->kind()) {
    case v1::TRUTH_KIND_PRODUCTS:
      list = "truth/products";
      break;
    case v1::TRUTH_KIND_REVIEWS:
      list = "truth/reviews";
      break;
    case v1::TRUTH_KIND_CUSTOMERS:
      list = "truth/customers";
      break;
    case v1::TRUTH_KIND_INFLUENCERS:
      list = "truth/influencers";
      break;
    case v1::TRUTH_KIND_CAPTIONS:
      list = "truth/captions";
      break;
    default:
      return InvalidArgument("kind must be PRODUCTS, REVIEWS, CUSTOMERS, INFLUENCERS or CAPTIONS");
  }
  if (!req->product_id().empty() && req->kind() != v1::TRUTH_KIND_REVIEWS) {
    return InvalidArgument("product_id filters TRUTH_KIND_REVIEWS only");
  }
  const std::string filters = Filters().Add("product_id", req->product_id()).str();
  int limit = 0;
  std::string after;
  if (grpc::Status s =
          Paging(req->has_page_size(), req->page_size(), req->page_token(), list, filters, &limit, &after);
      !s.ok()) {
    return s;
  }
  std::string next;
  switch (req->kind()) {
    case v1::TRUTH_KIND_PRODUCTS: {
      auto page = world_->ListProductTruth(after, limit);
      for (auto& t : page.items) *resp->add_products() = std::move(t);
      next = page.next_after;
      break;
    }
    case v1::TRUTH_KIND_REVIEWS: {
      if (!req->product_id().empty() && !world_->HasProduct(req->product_id())) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no product ", req->product_id()));
      }
      auto page = world_->ListReviewTruth(req->product_id(), after, limit);
      for (auto& t : page.items) *resp->add_reviews() = std::move(t);
      next = page.next_after;
      break;
    }
    case v1::TRUTH_KIND_CUSTOMERS: {
      auto page = world_->ListCustomerTruth(after, limit);
      for (auto& t : page.items) *resp->add_customers() = std::move(t);
      next = page.next_after;
      break;
    }
    case v1::TRUTH_KIND_CAPTIONS: {
      auto page = world_->ListCaptionTruth(after, limit);
      for (auto& t : page.items) *resp->add_captions() = std::move(t);
      next = page.next_after;
      break;
    }
    default: {
      auto page = world_->ListInfluencerTruth(after, limit);
      for (auto& t : page.items) *resp->add_influencers() = std::move(t);
      next = page.next_after;
      break;
    }
  }
  resp->set_next_page_token(NextToken(list, filters, next));
  return grpc::Status::OK;
}

}  // namespace marketlens::marketplace
