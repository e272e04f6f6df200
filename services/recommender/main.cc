// The recommender service. Until issue #6 lands it serves the gRPC surface of
// protos/marketlens/recommender/v1/recommender.proto with every RPC answering UNIMPLEMENTED (the generated base class),
// together with what every service has: health, reflection, /metrics, JSON logs, graceful shutdown.
#include "common/service/service_main.h"
#include "marketlens/recommender/v1/recommender.grpc.pb.h"

int main(int argc, char** argv) {
  return marketlens::service::RunService(
      argc, argv,
      {.name = "recommender", .grpc_port = 50054, .metrics_port = 9104, .postgres = true, .redis = true},
      [](marketlens::service::ServiceContext& ctx) -> absl::Status {
        static marketlens::recommender::v1::RecommenderService::Service service;
        ctx.server().AddService(&service);
        return absl::OkStatus();
      });
}
