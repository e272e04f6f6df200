// Runs the erasure jobs of erasure_store.h: claims due jobs, calls each pending step (a service's
// EraseUser) in order, records what was erased, and on a failure (a service down, a deadline) leaves the job
// for a later try with exponential backoff and jitter. Started with the gateway, it resumes whatever is
// pending in Postgres, so an erasure completes after any restart. Kick() runs a pass at once (a new job).
#ifndef MARKETLENS_SERVICES_GATEWAY_ERASURE_DRIVER_H_
#define MARKETLENS_SERVICES_GATEWAY_ERASURE_DRIVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "marketlens/privacy/v1/privacy.pb.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/gateway/erasure_store.h"

namespace marketlens::gateway {

// One service's step: calls its EraseUser for `user_id` before `deadline`.
using ErasureStep = std::function<absl::StatusOr<privacy::v1::EraseUserResponse>(
    const std::string& user_id, const std::string& erasure_id, absl::Time deadline)>;

// The step of "collector", "analyzer" or "recommender" over a gRPC channel to that service.
ErasureStep GrpcErasureStep(const std::string& step, std::shared_ptr<grpc::Channel> channel);

struct ErasureDriverOptions {
  absl::Duration poll_interval = absl::Seconds(2);
  absl::Duration step_timeout = absl::Seconds(30);
  // A claimed job is left alone by other drivers this long (a driver that died mid-job).
  absl::Duration lease = absl::Seconds(60);
  // Backoff after a failed step: min(max, initial * 2^attempts), full jitter.
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(60);
  // gateway_erasure_steps_total{step, result="done|failed"} is registered here (null: not counted).
  std::shared_ptr<prometheus::Registry> registry;
};

class ErasureDriver {
 public:
  ErasureDriver(ErasureStore* store, std::map<std::string, ErasureStep> steps,
                ErasureDriverOptions options = {});
  ~ErasureDriver();

  void Start();
  void Stop();
  void Kick();
  // One pass over the due jobs (the loop calls this; tests too). Returns how many steps succeeded.
  int RunOnce();

 private:
  void Loop();
  bool WakeUp() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || kicked_; }

  ErasureStore* store_;
  const std::map<std::string, ErasureStep> steps_;
  const ErasureDriverOptions options_;
  prometheus::Family<prometheus::Counter>* steps_counter_ = nullptr;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_ERASURE_DRIVER_H_
