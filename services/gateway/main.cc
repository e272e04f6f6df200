// The gateway service. Until issue #7 lands it serves the gRPC surface of
// protos/marketlens/gateway/v1/gateway.proto with every RPC answering UNIMPLEMENTED (the generated base
// class), together with what every service has: health, reflection, /metrics, JSON logs, graceful shutdown.
#include "common/service/service_main.h"
#include "marketlens/gateway/v1/gateway.grpc.pb.h"

int main(int argc, char** argv) {
  return marketlens::service::RunService(
      argc, argv,
      {.name = "gateway", .grpc_port = 50055, .metrics_port = 9105, .postgres = true, .redis = true},
      [](marketlens::service::ServiceContext& ctx) -> absl::Status {
        static marketlens::gateway::v1::GatewayAdminService::Service service;
        ctx.server().AddService(&service);
        return absl::OkStatus();
      });
}
