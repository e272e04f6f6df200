#include "services/gateway/erasure_driver.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "marketlens/analyzer/v1/analyzer.grpc.pb.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "marketlens/recommender/v1/recommender.grpc.pb.h"

namespace marketlens::gateway {
namespace {

using privacy::v1::EraseUserRequest;
using privacy::v1::EraseUserResponse;

template <typename Stub>
ErasureStep StepOver(std::shared_ptr<Stub> stub) {
  return [stub](const std::string& user_id, const std::string& erasure_id,
                absl::Time deadline) -> absl::StatusOr<EraseUserResponse> {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(deadline));
    EraseUserRequest req;
    req.set_user_id(user_id);
    req.set_erasure_id(erasure_id);
    EraseUserResponse resp;
    grpc::Status s = stub->EraseUser(&ctx, req, &resp);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
    return resp;
  };
}

}  // namespace

ErasureStep GrpcErasureStep(const std::string& step, std::shared_ptr<grpc::Channel> channel) {
  if (step == "collector") {
    return StepOver(std::shared_ptr<collector::v1::CollectorService::Stub>(
        collector::v1::CollectorService::NewStub(channel)));
  }
  if (step == "analyzer") {
    return StepOver(std::shared_ptr<analyzer::v1::AnalyzerService::Stub>(
        analyzer::v1::AnalyzerService::NewStub(channel)));
  }
  if (step == "recommender") {
    return StepOver(std::shared_ptr<recommender::v1::RecommenderService::Stub>(
        recommender::v1::RecommenderService::NewStub(channel)));
  }
  return nullptr;
}

ErasureDriver::ErasureDriver(ErasureStore* store, std::map<std::string, ErasureStep> steps,
                             ErasureDriverOptions options)
    : store_(store), steps_(std::move(steps)), options_(options) {
  if (options_.registry != nullptr) {
    steps_counter_ = &prometheus::BuildCounter()
                          .Name("gateway_erasure_steps_total")
                          .Help("Steps of privacy erasure jobs run by this gateway, by service and result")
                          .Register(*options_.registry);
  }
}

ErasureDriver::~ErasureDriver() { Stop(); }

void ErasureDriver::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ErasureDriver::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ErasureDriver::Kick() {
  absl::MutexLock lock(&mu_);
  kicked_ = true;
}

void ErasureDriver::Loop() {
  while (true) {
    (void)RunOnce();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &ErasureDriver::WakeUp), options_.poll_interval);
    if (stop_) return;
    kicked_ = false;
  }
}

int ErasureDriver::RunOnce() {
  auto due = store_->ClaimDue(options_.lease);
  if (!due.ok()) {
    logging::Warn("erasure driver: cannot read the jobs", {{"error", due.status()}});
    return 0;
  }
  thread_local std::mt19937_64 rng(std::random_device{}());
  int done = 0;
  for (const DueErasure& job : *due) {
    if (job.subject_id.empty()) continue;  // completed meanwhile
    for (const std::string& step : job.steps) {
      if (std::find(job.steps_done.begin(), job.steps_done.end(), step) != job.steps_done.end()) continue;
      absl::StatusOr<EraseUserResponse> erased;
      auto it = steps_.find(step);
      if (it == steps_.end() || !it->second) {
        erased = absl::UnavailableError(absl::StrCat("no backend configured for step ", step));
      } else {
        erased = it->second(job.subject_id, job.id, absl::Now() + options_.step_timeout);
      }
      absl::Status recorded = erased.ok() ? store_->RecordStep(job.id, step, *erased) : erased.status();
      if (steps_counter_ != nullptr) {
        steps_counter_->Add({{"step", step}, {"result", recorded.ok() ? "done" : "failed"}}).Increment();
      }
      if (!recorded.ok()) {
        // Later steps wait: the order keeps the analyzer from re-indexing rows the collector still holds.
        const double cap = std::min(
            absl::ToDoubleSeconds(options_.max_backoff),
            absl::ToDoubleSeconds(options_.initial_backoff) * std::pow(2.0, std::min(job.attempts, 20)));
        const absl::Duration wait =
            absl::Seconds(std::uniform_real_distribution<double>(0.5 * cap, cap)(rng));
        const std::string error =
            absl::StrCat(step, ": ", absl::StatusCodeToString(recorded.code()), ": ", recorded.message());
        logging::Warn("erasure step failed; retrying later", {{"erasure_id", job.id},
                                                              {"step", step},
                                                              {"error", error},
                                                              {"retry_in_s", absl::ToDoubleSeconds(wait)}});
        if (auto s = store_->RecordFailure(job.id, error, wait); !s.ok()) {
          logging::Warn("erasure driver: cannot record a failure", {{"erasure_id", job.id}, {"error", s}});
        }
        break;
      }
      ++done;
      logging::Info("erasure step done", {{"erasure_id", job.id}, {"step", step}});
    }
  }
  return done;
}

}  // namespace marketlens::gateway
