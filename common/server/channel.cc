#include "common/server/channel.h"

#include <utility>
#include <vector>

#include "common/logging/grpc_request_id.h"
#include "common/metrics/grpc_metrics.h"
#include "grpcpp/create_channel.h"

namespace marketlens::server {
namespace {

int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName(options.lb_policy);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(options.keepalive_time));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(options.keepalive_timeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);  // keep pinging idle connections
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, Millis(options.min_reconnect_backoff));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, Millis(options.min_reconnect_backoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, Millis(options.max_reconnect_backoff));
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);

  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(logging::NewClientRequestIdInterceptorFactory());
  interceptors.push_back(metrics::NewClientMetricsInterceptorFactory(
      options.registry != nullptr ? options.registry : metrics::DefaultRegistry()));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials(), args,
      std::move(interceptors));
}

}  // namespace marketlens::server
