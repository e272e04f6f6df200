// The analyzer service. Until issue #5 lands it serves the gRPC surface of
// protos/marketlens/analyzer/v1/analyzer.proto with every RPC answering UNIMPLEMENTED (the generated base
// class), together with what every service has: health, reflection, /metrics, JSON logs, graceful shutdown.
#include "common/service/service_main.h"
#include "marketlens/analyzer/v1/analyzer.grpc.pb.h"

int main(int argc, char** argv) {
  return marketlens::service::RunService(
      argc, argv,
      {.name = "analyzer", .grpc_port = 50053, .metrics_port = 9103, .postgres = true, .redis = true},
      [](marketlens::service::ServiceContext& ctx) -> absl::Status {
        static marketlens::analyzer::v1::AnalyzerService::Service service;
        ctx.server().AddService(&service);
        return absl::OkStatus();
      });
}
