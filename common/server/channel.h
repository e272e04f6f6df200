// Client channels between services, configured the same way everywhere: client metrics and request-id
// interceptors, keepalive pings (so that dead peers are noticed and idle connections survive NATs and
// proxies) and round_robin load balancing over every address the target resolves to (a Kubernetes headless
// Service: "dns:///recommender.marketlens.svc.cluster.local:50054").
#ifndef MARKETLENS_COMMON_SERVER_CHANNEL_H_
#define MARKETLENS_COMMON_SERVER_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "prometheus/registry.h"

namespace marketlens::server {

struct ChannelOptions {
  // Ping an idle connection this often, and drop it when the ack takes longer than keepalive_timeout. Keep
  // keepalive_time >= the servers' min_client_ping_interval (10 s by default).
  absl::Duration keepalive_time = absl::Seconds(20);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  int max_message_bytes = 16 << 20;
  std::string lb_policy = "round_robin";
  // Reconnect backoff bounds.
  absl::Duration min_reconnect_backoff = absl::Milliseconds(100);
  absl::Duration max_reconnect_backoff = absl::Seconds(10);
  // Registry for grpc_client_* metrics (null: metrics::DefaultRegistry()).
  std::shared_ptr<prometheus::Registry> registry;
  // Null: insecure (plaintext inside the cluster network).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

// A channel to `target` ("host:port" or any gRPC target URI) with the options above.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const ChannelOptions& options = {});

}  // namespace marketlens::server

#endif  // MARKETLENS_COMMON_SERVER_CHANNEL_H_
