#include "services/collector/marketplace_client.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/retry/backoff.h"

namespace marketlens::collector {
namespace {

bool IsRetryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::CANCELLED;
}

absl::Duration RetryAfter(const grpc::ClientContext& ctx, absl::Duration fallback) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  for (const char* key : {"retry-after-ms"}) {
    auto it = trailers.find(key);
    if (it == trailers.end()) continue;
    int64_t ms = 0;
    if (absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms) && ms >= 0) {
      return absl::Milliseconds(std::min<int64_t>(ms, 60000));
    }
  }
  return fallback;
}

}  // namespace

MarketplaceClient::MarketplaceClient(std::shared_ptr<grpc::ChannelInterface> channel,
                                     MarketplaceClientOptions options, CollectorMetrics* metrics)
    : stub_(mv1::MarketplaceService::NewStub(channel)),
      options_(std::move(options)),
      metrics_(metrics),
      bucket_(options_.rate_per_second, options_.burst) {}

namespace {
constexpr size_t kLatencySamples = 64;
constexpr size_t kMinLatencySamples = 8;
}  // namespace

void MarketplaceClient::RecordLatency(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  if (latencies_.size() < kLatencySamples) {
    latencies_.push_back(d);
  } else {
    latencies_[next_latency_] = d;
    next_latency_ = (next_latency_ + 1) % kLatencySamples;
  }
}

absl::Duration MarketplaceClient::AttemptTimeout(int timeouts) {
  if (!options_.adaptive_timeout) return options_.call_timeout;
  std::vector<absl::Duration> sample;
  {
    absl::MutexLock lock(&mu_);
    sample = latencies_;
  }
  if (sample.size() < kMinLatencySamples) return options_.call_timeout;
  const size_t k = sample.size() * 95 / 100;
  std::nth_element(sample.begin(), sample.begin() + k, sample.end());
  absl::Duration d = std::max(options_.min_attempt_timeout, sample[k] * options_.slow_multiple);
  for (int i = 0; i < timeouts && d < options_.call_timeout; ++i) d *= 2;
  return std::min(d, options_.call_timeout);
}

void MarketplaceClient::PauseUntil(absl::Time t) {
  absl::MutexLock lock(&mu_);
  paused_until_ = std::max(paused_until_, t);
}

bool MarketplaceClient::AwaitTurn(StopSignal& stop, CallOutcome* outcome) {
  const absl::Time start = absl::Now();
  bool waited = false;
  for (;;) {
    if (stop.stopped()) return false;
    absl::Time pause;
    {
      absl::MutexLock lock(&mu_);
      pause = paused_until_;
    }
    const absl::Time now = absl::Now();
    if (now < pause) {
      waited = true;
      if (!stop.SleepFor(pause - now)) return false;
      continue;
    }
    const absl::Duration wait = bucket_.TryAcquire();
    if (wait <= absl::ZeroDuration()) break;
    waited = true;
    if (!stop.SleepFor(wait)) return false;
  }
  if (waited) {
    const absl::Duration d = absl::Now() - start;
    outcome->limiter_wait += d;
    metrics_->rate_limit_waits.Increment();
    metrics_->rate_limit_wait_seconds.Increment(absl::ToDoubleSeconds(d));
  }
  return true;
}

template <typename Req, typename Resp>
absl::Status MarketplaceClient::Call(const char* name, Method<Req, Resp> method, const Req& req, Resp* resp,
                                     StopSignal& stop, CallOutcome* outcome) {
  int failures = 0;
  int refusals = 0;
  int timeouts = 0;          // DEADLINE_EXCEEDED in a row
  absl::Time first_failure;  // of UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL, set with failures = 1
  for (;;) {
    if (!AwaitTurn(stop, outcome)) return absl::CancelledError(absl::StrCat("stopped: ", stop.reason()));
    grpc::ClientContext ctx;
    const absl::Time sent = absl::Now();
    ctx.set_deadline(absl::ToChronoTime(sent + AttemptTimeout(timeouts)));
    ctx.AddMetadata("x-caller-id", options_.caller_id);
    if (const std::string& rid = logging::CurrentRequestId(); !rid.empty()) {
      ctx.AddMetadata(logging::kRequestIdKey, rid);
    }
    grpc::Status status;
    {
      StopSignal::CallGuard guard(stop, &ctx);
      resp->Clear();
      status = (stub_.get()->*method)(&ctx, req, resp);
    }
    ++outcome->requests;
    outcome->last_code = static_cast<absl::StatusCode>(status.error_code());
    const std::string code = absl::StatusCodeToString(outcome->last_code);
    metrics_->requests(name, code).Increment();
    if (status.ok()) {
      RecordLatency(absl::Now() - sent);
      return absl::OkStatus();
    }
    timeouts = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? timeouts + 1 : 0;
    if (stop.stopped()) return absl::CancelledError(absl::StrCat("stopped: ", stop.reason()));
    const absl::Status as_absl(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++outcome->rate_limited;
      metrics_->rate_limited.Increment();
      const absl::Duration wait = RetryAfter(ctx, options_.default_retry_after);
      logging::Warn("marketplace rate limit hit; pausing",
                    {{"method", name}, {"retry_after_ms", absl::ToInt64Milliseconds(wait)}});
      if (++refusals >= options_.max_rate_limited) {
        return absl::ResourceExhaustedError(absl::StrCat(
            name, ": gave up after ", refusals, " RESOURCE_EXHAUSTED answers; last: ", as_absl.ToString()));
      }
      PauseUntil(absl::Now() + wait);
      continue;
    }
    if (!IsRetryable(status.error_code())) return as_absl;
    const absl::Time now = absl::Now();
    if (++failures == 1) first_failure = now;
    if (failures >= options_.max_attempts && now - first_failure >= options_.min_retry_window) {
      return absl::Status(as_absl.code(), absl::StrCat(name, ": gave up after ", failures,
                                                       " tries; last: ", as_absl.ToString()));
    }
    ++outcome->retries;
    metrics_->retries(code).Increment();
    const absl::Duration backoff = retry::FullJitterDelay(options_.backoff, failures - 1);
    logging::Debug("marketplace call failed; retrying", {{"method", name},
                                                         {"code", code},
                                                         {"try", failures},
                                                         {"backoff_ms", absl::ToInt64Milliseconds(backoff)}});
    if (!stop.SleepFor(backoff)) return absl::CancelledError(absl::StrCat("stopped: ", stop.reason()));
  }
}

absl::Status MarketplaceClient::ListProducts(const mv1::ListProductsRequest& req,
                                             mv1::ListProductsResponse* resp, StopSignal& stop,
                                             CallOutcome* outcome) {
  return Call("ListProducts", &mv1::MarketplaceService::Stub::ListProducts, req, resp, stop, outcome);
}
absl::Status MarketplaceClient::ListReviews(const mv1::ListReviewsRequest& req,
                                            mv1::ListReviewsResponse* resp, StopSignal& stop,
                                            CallOutcome* outcome) {
  return Call("ListReviews", &mv1::MarketplaceService::Stub::ListReviews, req, resp, stop, outcome);
}
absl::Status MarketplaceClient::ListCustomers(const mv1::ListCustomersRequest& req,
                                              mv1::ListCustomersResponse* resp, StopSignal& stop,
                                              CallOutcome* outcome) {
  return Call("ListCustomers", &mv1::MarketplaceService::Stub::ListCustomers, req, resp, stop, outcome);
}
absl::Status MarketplaceClient::ListInteractions(const mv1::ListInteractionsRequest& req,
                                                 mv1::ListInteractionsResponse* resp, StopSignal& stop,
                                                 CallOutcome* outcome) {
  return Call("ListInteractions", &mv1::MarketplaceService::Stub::ListInteractions, req, resp, stop, outcome);
}
absl::Status MarketplaceClient::ListCampaignPosts(const mv1::ListCampaignPostsRequest& req,
                                                  mv1::ListCampaignPostsResponse* resp, StopSignal& stop,
                                                  CallOutcome* outcome) {
  return Call("ListCampaignPosts", &mv1::MarketplaceService::Stub::ListCampaignPosts, req, resp, stop,
              outcome);
}
absl::Status MarketplaceClient::ListContacts(const mv1::ListContactsRequest& req,
                                             mv1::ListContactsResponse* resp, StopSignal& stop,
                                             CallOutcome* outcome) {
  return Call("ListContacts", &mv1::MarketplaceService::Stub::ListContacts, req, resp, stop, outcome);
}
absl::Status MarketplaceClient::GetWorldInfo(mv1::WorldInfo* resp, StopSignal& stop, CallOutcome* outcome) {
  mv1::GetWorldInfoRequest req;
  return Call("GetWorldInfo", &mv1::MarketplaceService::Stub::GetWorldInfo, req, resp, stop, outcome);
}

}  // namespace marketlens::collector
