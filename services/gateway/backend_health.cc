#include "services/gateway/backend_health.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_health/health_client.h"
#include "common/logging/log.h"
#include "nlohmann/json.hpp"

namespace marketlens::gateway {

BackendHealth::BackendHealth(std::vector<HealthTarget> targets, std::vector<ExtraCheck> extra,
                             absl::Duration interval, absl::Duration timeout)
    : targets_(std::move(targets)), extra_(std::move(extra)), interval_(interval), timeout_(timeout) {}

BackendHealth::~BackendHealth() { Stop(); }

void BackendHealth::Start() {
  CheckNow();
  thread_ = std::thread([this] { Loop(); });
}

void BackendHealth::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void BackendHealth::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_);
      if (stop_) return;
    }
    CheckNow();
  }
}

void BackendHealth::CheckNow() {
  Report r;
  r.ready = true;
  for (const HealthTarget& t : targets_) {
    Item item;
    item.name = t.name;
    auto status = grpc_health::CheckHealth(t.channel, t.service, timeout_);
    if (!status.ok()) {
      item.detail = std::string(status.status().message());
    } else {
      item.detail = grpc_health::ServingStatusName(*status);
      item.ok = *status == grpc::health::v1::HealthCheckResponse::SERVING;
    }
    r.ready = r.ready && item.ok;
    r.items.push_back(std::move(item));
  }
  for (const ExtraCheck& c : extra_) {
    Item item;
    item.name = c.name;
    absl::Status st = c.check();
    item.ok = st.ok();
    item.detail = st.ok() ? "OK" : std::string(st.message());
    r.ready = r.ready && item.ok;
    r.items.push_back(std::move(item));
  }
  r.checked_at = absl::Now();
  absl::MutexLock lock(&mu_);
  if (r.ready != report_.ready || report_.checked_at == absl::Time()) {
    if (r.ready) {
      logging::Info("gateway ready: every backend is serving");
    } else {
      for (const Item& i : r.items) {
        if (!i.ok) logging::Warn("gateway not ready", {{"check", i.name}, {"detail", i.detail}});
      }
    }
  }
  report_ = std::move(r);
}

BackendHealth::Report BackendHealth::Current() const {
  absl::MutexLock lock(&mu_);
  return report_;
}

std::string BackendHealth::ToJson(const Report& report) {
  nlohmann::ordered_json checks = nlohmann::ordered_json::object();
  for (const auto& item : report.items) checks[item.name] = item.detail;
  const nlohmann::ordered_json out = {{"status", report.ready ? "ready" : "not_ready"}, {"checks", checks}};
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace marketlens::gateway
