// The collector service. Until issue #4 lands it serves the gRPC surface of
// protos/marketlens/collector/v1/collector.proto with every RPC answering UNIMPLEMENTED (the generated base class),
// together with what every service has: health, reflection, /metrics, JSON logs, graceful shutdown.
#include "common/service/service_main.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"

int main(int argc, char** argv) {
  return marketlens::service::RunService(
      argc, argv,
      {.name = "collector", .grpc_port = 50052, .metrics_port = 9102, .postgres = true, .redis = true},
      [](marketlens::service::ServiceContext& ctx) -> absl::Status {
        static marketlens::collector::v1::CollectorService::Service service;
        ctx.server().AddService(&service);
        return absl::OkStatus();
      });
}
