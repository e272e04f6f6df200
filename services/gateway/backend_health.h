// Readiness of the gateway for /readyz: every backend answers the standard gRPC health check for the service
// the gateway routes to (grpc.health.v1, "marketlens.analyzer.v1.AnalyzerService" etc.) with SERVING, and
// every extra check passes (Postgres, for API keys). Checked in the background every `interval`, so that a
// probe never waits on a slow backend and a flood of probes costs nothing; /readyz reports the last round.
#ifndef MARKETLENS_SERVICES_GATEWAY_BACKEND_HEALTH_H_
#define MARKETLENS_SERVICES_GATEWAY_BACKEND_HEALTH_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace marketlens::gateway {

struct HealthTarget {
  std::string name;  // "analyzer"
  std::shared_ptr<grpc::Channel> channel;
  std::string service;  // the health service name asked for
};

struct ExtraCheck {
  std::string name;                     // "postgres"
  std::function<absl::Status()> check;  // must bound its own time
};

class BackendHealth {
 public:
  BackendHealth(std::vector<HealthTarget> targets, std::vector<ExtraCheck> extra,
                absl::Duration interval = absl::Seconds(2), absl::Duration timeout = absl::Seconds(1));
  ~BackendHealth();
  BackendHealth(const BackendHealth&) = delete;
  BackendHealth& operator=(const BackendHealth&) = delete;

  // Runs one round now (blocking), then keeps checking in the background.
  void Start();
  void Stop();
  // One round, blocking (also used by tests).
  void CheckNow();

  struct Item {
    std::string name;
    bool ok = false;
    std::string detail;  // "SERVING", or the error
  };
  struct Report {
    bool ready = false;  // all items ok (false before the first round)
    std::vector<Item> items;
    absl::Time checked_at;
  };
  Report Current() const;
  // {"status":"ready"|"not_ready","checks":{"analyzer":"SERVING",...}}
  static std::string ToJson(const Report& report);

 private:
  void Loop();

  const std::vector<HealthTarget> targets_;
  const std::vector<ExtraCheck> extra_;
  const absl::Duration interval_;
  const absl::Duration timeout_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  Report report_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_BACKEND_HEALTH_H_
