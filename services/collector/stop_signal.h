// StopSignal: how a crawl is told to stop (cancelled, lost its lease, or the process is shutting down)
// without waiting for whatever it is doing: sleeps (backoff, rate-limit waits) return early, and in-flight
// gRPC calls registered with CallGuard are cancelled (ClientContext::TryCancel).
#ifndef MARKETLENS_SERVICES_COLLECTOR_STOP_SIGNAL_H_
#define MARKETLENS_SERVICES_COLLECTOR_STOP_SIGNAL_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"

namespace marketlens::collector {

class StopSignal {
 public:
  // Idempotent; the first reason is kept.
  void Stop(const std::string& reason) {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    reason_ = reason;
    for (grpc::ClientContext* ctx : calls_) ctx->TryCancel();
  }
  bool stopped() const {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }
  std::string reason() const {
    absl::MutexLock lock(&mu_);
    return reason_;
  }
  // Sleeps for d unless stopped first. Returns false when stopped.
  bool SleepFor(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    const absl::Time until = absl::Now() + d;
    while (!stopped_ && absl::Now() < until) {
      mu_.AwaitWithDeadline(absl::Condition(&stopped_), until);
    }
    return !stopped_;
  }

  // Cancels the call when Stop() is called while it runs.
  class CallGuard {
   public:
    CallGuard(StopSignal& signal, grpc::ClientContext* ctx) : signal_(signal), ctx_(ctx) {
      absl::MutexLock lock(&signal_.mu_);
      if (signal_.stopped_) ctx_->TryCancel();
      signal_.calls_.insert(ctx_);
    }
    ~CallGuard() {
      absl::MutexLock lock(&signal_.mu_);
      signal_.calls_.erase(ctx_);
    }
    CallGuard(const CallGuard&) = delete;
    CallGuard& operator=(const CallGuard&) = delete;

   private:
    StopSignal& signal_;
    grpc::ClientContext* ctx_;
  };

 private:
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::string reason_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_STOP_SIGNAL_H_
