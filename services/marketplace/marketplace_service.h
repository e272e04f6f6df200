// The marketplace's gRPC API over a World, behaving like a real public API:
//   - validation: page_size 1..100 (unset: 100), opaque tamper-evident page tokens bound to the request's
//     filters, well-formed timestamps -> INVALID_ARGUMENT otherwise; unknown product/customer -> NOT_FOUND;
//   - a token bucket per caller (metadata x-caller-id, else the peer's address without its port):
//     past it, RESOURCE_EXHAUSTED with the wait in the `retry-after-ms` trailer;
//   - injected faults (see faults.h), after the rate limit, before any work.
// ListTruth (the scoring oracle) is neither rate limited nor faulted; GetWorldInfo is rate limited only.
#ifndef MARKETLENS_SERVICES_MARKETPLACE_MARKETPLACE_SERVICE_H_
#define MARKETLENS_SERVICES_MARKETPLACE_MARKETPLACE_SERVICE_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/retry/clock.h"
#include "common/retry/token_bucket.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "services/marketplace/faults.h"
#include "services/marketplace/page_token.h"
#include "services/marketplace/world.h"

namespace marketlens::marketplace {

inline constexpr char kCallerIdKey[] = "x-caller-id";
inline constexpr char kRetryAfterKey[] = "retry-after-ms";
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 100;

struct ServiceOptions {
  // Per caller; rate <= 0 disables the limit.
  double rate_limit_rps = 5;
  double rate_limit_burst = 10;
  FaultConfig faults;
  uint64_t fault_seed = 0;  // 0: random
  // HMAC key for page tokens; "" = random per process.
  std::string page_token_key;
  // Clock of the rate limiter (tests drive a FakeClock).
  retry::Clock* clock = retry::Clock::Real();
  // Reported by GetWorldInfo.
  double clock_speed = 0;
  // Where to count rate-limited calls and injected faults (null: not counted).
  std::shared_ptr<prometheus::Registry> registry;
};

// page_size: unset -> 100; 1..100 as given; anything else INVALID_ARGUMENT.
absl::StatusOr<int> ResolvePageSize(bool has_page_size, int32_t page_size);

// The rate-limit key of a call: the x-caller-id value (trimmed, at most 128 bytes) if present, else the
// peer without its port ("ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1", "ipv6:[::1]:5555" -> "ipv6:[::1]").
std::string CallerKey(absl::string_view caller_id, absl::string_view peer);

class MarketplaceServiceImpl final : public v1::MarketplaceService::Service {
 public:
  // `world` must outlive the service.
  MarketplaceServiceImpl(World* world, ServiceOptions options);

  grpc::Status ListProducts(grpc::ServerContext* ctx, const v1::ListProductsRequest* req,
                            v1::ListProductsResponse* resp) override;
  grpc::Status GetProduct(grpc::ServerContext* ctx, const v1::GetProductRequest* req,
                          v1::Product* resp) override;
  grpc::Status ListReviews(grpc::ServerContext* ctx, const v1::ListReviewsRequest* req,
                           v1::ListReviewsResponse* resp) override;
  grpc::Status ListCustomers(grpc::ServerContext* ctx, const v1::ListCustomersRequest* req,
                             v1::ListCustomersResponse* resp) override;
  grpc::Status ListInteractions(grpc::ServerContext* ctx, const v1::ListInteractionsRequest* req,
                                v1::ListInteractionsResponse* resp) override;
  grpc::Status ListCampaignPosts(grpc::ServerContext* ctx, const v1::ListCampaignPostsRequest* req,
                                 v1::ListCampaignPostsResponse* resp) override;
  grpc::Status ListContacts(grpc::ServerContext* ctx, const v1::ListContactsRequest* req,
                            v1::ListContactsResponse* resp) override;
  grpc::Status GetWorldInfo(grpc::ServerContext* ctx, const v1::GetWorldInfoRequest* req,
                            v1::WorldInfo* resp) override;
  grpc::Status ListTruth(grpc::ServerContext* ctx, const v1::ListTruthRequest* req,
                         v1::ListTruthResponse* resp) override;

  void set_clock_speed(double speed) { clock_speed_.store(speed); }

 private:
  // Rate limit, then (if `faultable`) an injected fault. OK means: serve the call.
  grpc::Status Admit(grpc::ServerContext* ctx, bool faultable);
  // page_size and page_token of a list request; `after` receives the key to resume after.
  grpc::Status Paging(bool has_page_size, int32_t page_size, const std::string& token, absl::string_view list,
                      absl::string_view filters, int* limit, std::string* after) const;
  std::string NextToken(absl::string_view list, absl::string_view filters,
                        const std::string& next_after) const;

  World* const world_;
  const ServiceOptions options_;
  std::unique_ptr<retry::KeyedRateLimiter> limiter_;
  FaultInjector faults_;
  PageTokenCodec tokens_;
  std::atomic<double> clock_speed_;
  prometheus::Counter* rate_limited_ = nullptr;
  prometheus::Counter* faults_unavailable_ = nullptr;
  prometheus::Counter* faults_internal_ = nullptr;
  prometheus::Counter* faults_slow_ = nullptr;
};

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_MARKETPLACE_SERVICE_H_
