// A real server process for signal_test. Prints "PORT <grpc port>" once serving and "ENTERED" each time a
// slow call starts; GetProduct("sleep:<ms>") sleeps. Exits 0 after a SIGTERM/SIGINT drain, 3 otherwise.
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/server/server.h"
#include "grpcpp/grpcpp.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"

namespace {

class SlowMarketplace : public marketlens::marketplace::v1::MarketplaceService::Service {
  grpc::Status GetProduct(grpc::ServerContext* ctx,
                          const marketlens::marketplace::v1::GetProductRequest* request,
                          marketlens::marketplace::v1::Product* response) override {
    if (absl::StartsWith(request->product_id(), "sleep:")) {
      std::printf("ENTERED\n");
      std::fflush(stdout);
      const absl::Time until = absl::Now() + absl::Milliseconds(std::stoi(request->product_id().substr(6)));
      while (absl::Now() < until) {
        if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        absl::SleepFor(absl::Milliseconds(5));
      }
    }
    response->set_id(request->product_id());
    return grpc::Status::OK;
  }
};

}  // namespace

int main() {
  marketlens::server::InstallShutdownSignalHandling();
  marketlens::logging::SetServiceName("signal-test");
  SlowMarketplace service;
  marketlens::server::Server server({.service_name = "signal-test",
                                     .grpc_address = "127.0.0.1:0",
                                     .metrics_address = "127.0.0.1:0",
                                     .drain_timeout = absl::Seconds(5)});
  server.AddService(&service);
  if (absl::Status st = server.Start(); !st.ok()) {
    marketlens::logging::Error("cannot start", {{"error", st}});
    return 1;
  }
  std::printf("PORT %d\n", server.grpc_port());
  std::fflush(stdout);
  const int signal = server.WaitForShutdownSignal();
  return signal == SIGTERM || signal == SIGINT ? 0 : 3;
}
