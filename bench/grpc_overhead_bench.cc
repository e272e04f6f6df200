// What the shared server bootstrap costs per call: the same unary call (grpc.health.v1.Health/Check) on a
// bare gRPC server (the baseline) and on marketlens::server::Server with its metrics and request-id
// interceptors, measured in the same run on this machine. Prints one line per setup and the ratio.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/server/channel.h"
#include "common/server/server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

ABSL_FLAG(int, calls, 20000, "calls per setup");
ABSL_FLAG(int, threads, 4, "concurrent client threads");

namespace {

struct Result {
  double calls_per_second;
  double p50_us;
  double p99_us;
};

Result Measure(int port, bool client_interceptors) {
  const int threads = absl::GetFlag(FLAGS_threads);
  const int per_thread = absl::GetFlag(FLAGS_calls) / threads;
  const std::string target = absl::StrCat("127.0.0.1:", port);
  std::vector<std::vector<double>> latencies(threads);
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  auto run = [&](int t, int n, bool record) {
    // One channel per thread, like independent clients.
    grpc::ChannelArguments args;
    args.SetInt("marketlens.bench.thread", t);  // distinct channels, not a shared subchannel
    auto channel = client_interceptors
                       ? marketlens::server::MakeChannel(target)
                       : grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckRequest request;
    for (int i = 0; i < n; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::health::v1::HealthCheckResponse response;
      const absl::Time start = absl::Now();
      if (!stub->Check(&ctx, request, &response).ok()) ++failures;
      if (record) latencies[t].push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
    }
  };
  for (int t = 0; t < threads; ++t) run(t, 200, false);  // warm-up: connections, caches
  const absl::Time start = absl::Now();
  for (int t = 0; t < threads; ++t) workers.emplace_back(run, t, per_thread, true);
  for (auto& w : workers) w.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  if (failures > 0) std::fprintf(stderr, "warning: %d calls failed\n", failures.load());
  return {all.size() / seconds, all[all.size() / 2], all[std::min(all.size() - 1, all.size() * 99 / 100)]};
}

void Print(const char* name, const Result& r) {
  std::printf("%-44s %10.0f calls/s  p50 %7.1f us  p99 %7.1f us\n", name, r.calls_per_second, r.p50_us,
              r.p99_us);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  marketlens::logging::SetMinLevel(marketlens::logging::Level::kWarning);

  // Baseline: a bare gRPC server with the standard health service and nothing else.
  grpc::EnableDefaultHealthCheckService(true);
  int bare_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &bare_port);
  std::unique_ptr<grpc::Server> bare = builder.BuildAndStart();
  const Result baseline = Measure(bare_port, false);
  bare->Shutdown();

  marketlens::server::Server server({.service_name = "bench", .grpc_address = "127.0.0.1:0"});
  if (absl::Status st = server.Start(); !st.ok()) {
    std::fprintf(stderr, "cannot start: %s\n", st.ToString().c_str());
    return 1;
  }
  const Result ours = Measure(server.grpc_port(), true);
  server.Shutdown();

  std::printf("unary call, %d threads, %d calls each setup\n", absl::GetFlag(FLAGS_threads),
              absl::GetFlag(FLAGS_calls));
  Print("baseline: bare gRPC server + plain channel", baseline);
  Print("marketlens Server + MakeChannel (interceptors)", ours);
  std::printf("throughput ratio (ours / baseline): %.2f   p99 ratio: %.2f\n",
              ours.calls_per_second / baseline.calls_per_second, ours.p99_us / baseline.p99_us);
  // Headline figures for bench/run.sh's table (no target: this is the floor every service pays).
  std::printf("figure: name=grpc_bootstrap_calls_per_s value=%.0f unit=calls/s target=- baseline=bare_grpc_server "
              "baseline_value=%.0f\n",
              ours.calls_per_second, baseline.calls_per_second);
  std::printf("figure: name=grpc_bootstrap_p99 value=%.1f unit=us target=- baseline=bare_grpc_server "
              "baseline_value=%.1f\n",
              ours.p99_us, baseline.p99_us);
  return 0;
}
