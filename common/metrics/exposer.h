// Prometheus metrics for every service: one process-wide registry that libraries and services add their own
// metric families to, and an HTTP exposer that serves it on /metrics for Prometheus to scrape.
//
// Why a process-wide registry: the gRPC interceptors, the Postgres/Redis clients and the service code all
// want to record metrics without threading a registry pointer through every constructor. Tests that need
// isolation create their own `std::make_shared<prometheus::Registry>()` and pass it explicitly.
#ifndef MARKETLENS_COMMON_METRICS_EXPOSER_H_
#define MARKETLENS_COMMON_METRICS_EXPOSER_H_

#include <sys/socket.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace marketlens::metrics {

// The registry shared by everything in this process. Never null; lives until exit.
std::shared_ptr<prometheus::Registry> DefaultRegistry();

// Serves one registry on http://<address>/metrics (text exposition format) until destroyed.
class MetricsExposer {
 public:
  // `address` is "host:port", e.g. "0.0.0.0:9102"; port 0 picks a free port (see port()).
  // Fails with UNAVAILABLE (naming the address) when the port cannot be bound, INVALID_ARGUMENT when the
  // address is malformed.
  static absl::StatusOr<std::unique_ptr<MetricsExposer>> Start(
      const std::string& address, std::shared_ptr<prometheus::Registry> registry = DefaultRegistry());

  // Stops serving. civetweb's accept loop only notices a stop request when its 2 s poll() returns, so the
  // destructor connects to its own port while stopping to wake it: stopping takes milliseconds, not 2 s.
  ~MetricsExposer();
  MetricsExposer(const MetricsExposer&) = delete;
  MetricsExposer& operator=(const MetricsExposer&) = delete;

  // The port actually bound (useful after asking for port 0).
  int port() const { return port_; }
  // "host:port" with the bound port.
  const std::string& address() const { return address_; }

 private:
  MetricsExposer(std::unique_ptr<prometheus::Exposer> exposer, std::shared_ptr<prometheus::Registry> registry,
                 int port, std::string address);

  std::shared_ptr<prometheus::Registry> registry_;  // kept alive while served
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
  std::string address_;
  // Where to connect to wake the accept loop (loopback for wildcard binds); empty if unknown.
  sockaddr_storage wake_addr_{};
  socklen_t wake_addr_len_ = 0;
};

}  // namespace marketlens::metrics

#endif  // MARKETLENS_COMMON_METRICS_EXPOSER_H_
