// The gRPC server bootstrap every service's main uses, so that all services behave the same way in
// Kubernetes: standard health service, server reflection, Prometheus metrics and request ids on every call,
// keepalive, message size limits, and a graceful drain on SIGTERM.
//
// A service's main does not build it: common/service/service_main.h's RunService does (flags, clients,
// shutdown hooks), and hands it to the service as ctx.server(). Used directly (tests, small servers):
//
//   marketlens::server::InstallShutdownSignalHandling();   // before any thread starts
//   marketlens::server::Server s({.service_name = "collector", .grpc_address = "0.0.0.0:50052",
//                                 .metrics_address = "0.0.0.0:9102", .drain_timeout = absl::Seconds(10)});
//   s.AddService(&collector_impl);
//   s.SetReadinessCheck([&] { return db.Ping(); });
//   RETURN_IF_ERROR(s.Start());
//   s.WaitForShutdownSignal();
//
// Health (grpc.health.v1.Health): "" and the full name of every added service are SERVING once started
// (NOT_SERVING while the readiness check fails), and NOT_SERVING from the moment shutdown begins.
// Shutdown: health NOT_SERVING -> optional lame-duck period (still serving, so load balancers see the
// NOT_SERVING and move traffic away) -> stop accepting calls, let in-flight calls finish until
// drain_timeout, cancel the rest -> stop the metrics exposer. Logged as "server listening", "shutting down",
// "drained" (with the field "server": service_name).
#ifndef MARKETLENS_COMMON_SERVER_SERVER_H_
#define MARKETLENS_COMMON_SERVER_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/exposer.h"
#include "common/server/channel.h"
#include "common/server/signals.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/registry.h"

namespace marketlens::server {

// The health service name for liveness probes: SERVING from Start() until shutdown begins, whatever the
// readiness check says, so that a dependency outage (Postgres down) takes a pod out of load balancing
// (readiness, "" or the service's name) without getting it restarted (liveness).
inline constexpr char kLivenessService[] = "marketlens.liveness";

struct ServerOptions {
  // For log lines ("collector").
  std::string service_name;
  // Where gRPC listens; port 0 picks a free port (see Server::grpc_port()).
  std::string grpc_address = "0.0.0.0:50051";
  // Where /metrics is served; "" serves no metrics endpoint (the interceptors still record).
  std::string metrics_address;
  // How long in-flight calls may run after shutdown begins; then they are cancelled.
  absl::Duration drain_timeout = absl::Seconds(10);
  // Maximum request and response size.
  int max_message_bytes = 16 << 20;
  // Time between health turning NOT_SERVING and the server refusing new calls (0 = none).
  absl::Duration lame_duck = absl::ZeroDuration();
  // Server-initiated keepalive pings on idle connections, and how long to wait for the ack.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Clients may ping this often (MakeChannel pings every 20 s); faster pings get the connection closed.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // Connections are closed (GOAWAY) after this age, so that clients re-resolve and spread load over new
  // replicas; calls get max_connection_age_grace to finish.
  absl::Duration max_connection_age = absl::Minutes(10);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // How often the readiness check runs.
  absl::Duration readiness_interval = absl::Seconds(5);
  // Registry for the gRPC metrics and the exposer (null: metrics::DefaultRegistry()).
  std::shared_ptr<prometheus::Registry> registry;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  // Shuts down (gracefully) if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Before Start(). The service must outlive the Server.
  void AddService(grpc::Service* service);

  // Optional, before Start(): checked at Start() and then every readiness_interval; a non-OK status turns
  // health NOT_SERVING (logged with the reason) until it passes again. Must be quick and have its own
  // deadline (e.g. a Postgres ping with a 1 s timeout).
  void SetReadinessCheck(std::function<absl::Status()> check);

  // Binds the gRPC port, starts serving and the metrics exposer. Errors: UNAVAILABLE naming the address
  // (e.g. "cannot listen on 0.0.0.0:50052: port 50052 in use"), FAILED_PRECONDITION when called twice.
  absl::Status Start();

  // Blocks until SIGTERM/SIGINT (see InstallShutdownSignalHandling) or Shutdown() from another thread, and
  // returns once the server is drained. Returns the signal number, or 0 when Shutdown() was called.
  int WaitForShutdownSignal();

  // Graceful shutdown (see the top of this file). Thread-safe and idempotent; blocks until drained. A
  // thread blocked in WaitForShutdownSignal() returns too. Never call it from inside a handler: the drain
  // waits for that handler.
  void Shutdown();

  // The bound ports (after Start()); metrics_port() is 0 without a metrics endpoint.
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  // The full names of the added services ("marketlens.collector.v1.CollectorService"), after Start().
  std::vector<std::string> service_names() const;
  // True while health says SERVING.
  bool serving() const;

 private:
  enum class State { kNew, kRunning, kDraining, kStopped };

  void SetServing(bool serving, const absl::Status& reason) ABSL_LOCKS_EXCLUDED(mu_);
  void ReadinessLoop();
  bool WakeWaiter() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return signal_ != 0 || state_ == State::kDraining || state_ == State::kStopped;
  }

  const ServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::function<absl::Status()> readiness_check_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::MetricsExposer> exposer_;
  std::vector<std::string> service_names_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  int signal_listener_ = 0;
  std::thread readiness_thread_;

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kNew;
  int signal_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_readiness_ ABSL_GUARDED_BY(mu_) = false;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool serving_reported_ ABSL_GUARDED_BY(mu_) = false;  // the first status is always logged
};

}  // namespace marketlens::server

#endif  // MARKETLENS_COMMON_SERVER_SERVER_H_
