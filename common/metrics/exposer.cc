#include "common/metrics/exposer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"

namespace marketlens::metrics {

std::shared_ptr<prometheus::Registry> DefaultRegistry() {
  // Leaked on purpose: metrics may be recorded from threads still running during static destruction.
  static auto* registry = new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
  return *registry;
}

absl::StatusOr<std::unique_ptr<MetricsExposer>> MetricsExposer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry) {
  if (registry == nullptr) {
    return absl::InvalidArgumentError("metrics exposer: registry is null");
  }
  const size_t colon = address.rfind(':');
  int requested_port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &requested_port) || requested_port < 0 ||
      requested_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics exposer: address \"", address, "\" is not host:port"));
  }
  const std::string host = address.substr(0, colon);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // Two worker threads: scrapes are rare and small.
    exposer = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics exposer: cannot listen on ", address, " (port ",
                                               requested_port, " in use or address not local?): ", e.what()));
  }
  exposer->RegisterCollectable(registry, "/metrics");
  int port = requested_port;
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (!ports.empty()) port = ports.front();
  return std::unique_ptr<MetricsExposer>(
      new MetricsExposer(std::move(exposer), std::move(registry), port, absl::StrCat(host, ":", port)));
}

MetricsExposer::MetricsExposer(std::unique_ptr<prometheus::Exposer> exposer,
                               std::shared_ptr<prometheus::Registry> registry, int port, std::string address)
    : registry_(std::move(registry)),
      exposer_(std::move(exposer)),
      port_(port),
      address_(std::move(address)) {
  std::string host = address_.substr(0, address_.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0" || host == "localhost") host = "127.0.0.1";
  if (host == "::") host = "::1";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&wake_addr_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&wake_addr_);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port_);
    wake_addr_len_ = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port_);
    wake_addr_len_ = sizeof(sockaddr_in6);
  }
}

MetricsExposer::~MetricsExposer() {
  if (wake_addr_len_ == 0) {
    exposer_.reset();
    return;
  }
  std::atomic<bool> done{false};
  std::thread waker([this, &done] {
    while (!done.load()) {
      int fd = socket(wake_addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0) {
        (void)connect(fd, reinterpret_cast<const sockaddr*>(&wake_addr_), wake_addr_len_);
        close(fd);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  exposer_.reset();
  done.store(true);
  waker.join();
}

}  // namespace marketlens::metrics
