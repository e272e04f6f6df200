// MarketplaceClient: the collector's polite, persistent way of calling the marketplace.
//
// - Politeness: every request (retries included) first takes a token from one client-side token bucket
//   shared by all crawl workers, set a little under the marketplace's per-caller limit, so the server never
//   has to refuse us. Requests carry `x-caller-id` so the server's bucket is ours alone.
// - If the server refuses anyway (RESOURCE_EXHAUSTED), its `retry-after-ms` trailer is honoured: the whole
//   client pauses that long (all workers, since they share the limit). Such refusals do not use up a
//   call's tries, but are bounded too (max_rate_limited).
// - UNAVAILABLE, DEADLINE_EXCEEDED and INTERNAL are retried with exponential backoff and full jitter, each
//   try under its own deadline, up to max_attempts tries and for at least min_retry_window since the call's
//   first failure (a marketplace restart takes seconds, and the channel's own reconnect backoff makes tries
//   in that time fail fast: counted tries alone could all be spent before it is back); then the call gives
//   up and says why ("gave up after 8 tries; last: UNAVAILABLE: ..."). Other errors are returned at once.
// - Hedging against slow answers: a try that takes far longer than the server usually needs is not waited
//   out for the whole call_timeout (a crawl walk is a chain of pages, so a stuck try idles the whole chain
//   and wastes the rate-limit tokens of that time). Each try's deadline is `slow_multiple` times the recent
//   95th percentile of successful latencies, at least min_attempt_timeout, at most call_timeout; each
//   DEADLINE_EXCEEDED in a row doubles it, so a server that really got slower is still waited for, and the
//   percentile follows it. Until enough answers were seen, tries get the full call_timeout.
// - A StopSignal interrupts waits and cancels the call in flight (crawl cancelled, shutdown).
#ifndef MARKETLENS_SERVICES_COLLECTOR_MARKETPLACE_CLIENT_H_
#define MARKETLENS_SERVICES_COLLECTOR_MARKETPLACE_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/retry/backoff.h"
#include "common/retry/token_bucket.h"
#include "grpcpp/channel.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"
#include "services/collector/collector_metrics.h"
#include "services/collector/stop_signal.h"

namespace marketlens::collector {

struct MarketplaceClientOptions {
  // Sent as `x-caller-id`: the marketplace rate-limits per caller.
  std::string caller_id = "collector";
  // Client-side limit: requests per second and burst. Keep it under the server's (5/s by default).
  double rate_per_second = 4.9;
  double burst = 1;
  // Longest deadline of a try (see adaptive deadlines above).
  absl::Duration call_timeout = absl::Seconds(2);
  // Adaptive per-try deadlines; false: every try gets call_timeout.
  bool adaptive_timeout = true;
  absl::Duration min_attempt_timeout = absl::Milliseconds(250);
  double slow_multiple = 8;
  // Tries per call for UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL (including the first).
  int max_attempts = 8;
  // ...and keep retrying them, however many tries that takes, until this long after the call's first failure.
  absl::Duration min_retry_window = absl::Seconds(30);
  retry::BackoffPolicy backoff = {absl::Milliseconds(200), absl::Seconds(5), 2.0, 0};
  // RESOURCE_EXHAUSTED answers tolerated per call before giving up.
  int max_rate_limited = 100;
  // Wait after RESOURCE_EXHAUSTED when the server sent no retry-after-ms.
  absl::Duration default_retry_after = absl::Seconds(1);
};

// What one logical call cost.
struct CallOutcome {
  int requests = 0;      // requests sent
  int retries = 0;       // tries repeated after UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL
  int rate_limited = 0;  // RESOURCE_EXHAUSTED answers
  absl::Duration limiter_wait;
  absl::StatusCode last_code = absl::StatusCode::kOk;
};

namespace mv1 = ::marketlens::marketplace::v1;

class MarketplaceClient {
 public:
  MarketplaceClient(std::shared_ptr<grpc::ChannelInterface> channel, MarketplaceClientOptions options,
                    CollectorMetrics* metrics = &CollectorMetrics::Default());

  absl::Status ListProducts(const mv1::ListProductsRequest& req, mv1::ListProductsResponse* resp,
                            StopSignal& stop, CallOutcome* outcome);
  absl::Status ListReviews(const mv1::ListReviewsRequest& req, mv1::ListReviewsResponse* resp,
                           StopSignal& stop, CallOutcome* outcome);
  absl::Status ListCustomers(const mv1::ListCustomersRequest& req, mv1::ListCustomersResponse* resp,
                             StopSignal& stop, CallOutcome* outcome);
  absl::Status ListInteractions(const mv1::ListInteractionsRequest& req, mv1::ListInteractionsResponse* resp,
                                StopSignal& stop, CallOutcome* outcome);
  absl::Status ListCampaignPosts(const mv1::ListCampaignPostsRequest& req,
                                 mv1::ListCampaignPostsResponse* resp, StopSignal& stop,
                                 CallOutcome* outcome);
  absl::Status ListContacts(const mv1::ListContactsRequest& req, mv1::ListContactsResponse* resp,
                            StopSignal& stop, CallOutcome* outcome);
  absl::Status GetWorldInfo(mv1::WorldInfo* resp, StopSignal& stop, CallOutcome* outcome);

  const MarketplaceClientOptions& options() const { return options_; }

 private:
  template <typename Req, typename Resp>
  using Method = grpc::Status (mv1::MarketplaceService::Stub::*)(grpc::ClientContext*, const Req&, Resp*);

  template <typename Req, typename Resp>
  absl::Status Call(const char* name, Method<Req, Resp> method, const Req& req, Resp* resp, StopSignal& stop,
                    CallOutcome* outcome);
  // Waits for a token (and for any pause a RESOURCE_EXHAUSTED imposed). False when stopped.
  bool AwaitTurn(StopSignal& stop, CallOutcome* outcome);
  void PauseUntil(absl::Time t);

 public:
  // The deadline the next try gets after `timeouts` DEADLINE_EXCEEDED tries in a row (exposed for tests).
  absl::Duration AttemptTimeout(int timeouts);

 private:
  void RecordLatency(absl::Duration d);

  std::unique_ptr<mv1::MarketplaceService::Stub> stub_;
  const MarketplaceClientOptions options_;
  CollectorMetrics* metrics_;
  retry::TokenBucket bucket_;
  absl::Mutex mu_;
  absl::Time paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Latencies of the last successful tries (a ring).
  std::vector<absl::Duration> latencies_ ABSL_GUARDED_BY(mu_);
  size_t next_latency_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_MARKETPLACE_CLIENT_H_
