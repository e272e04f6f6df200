// health_probe --target=127.0.0.1:50052 [--service=NAME] [--timeout_ms=1000] [--wait_ms=0]
// Exits 0 when the server reports SERVING, 1 otherwise; with --wait_ms it keeps asking until then.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "common/grpc_health/health_client.h"

ABSL_FLAG(std::string, target, "", "host:port of the gRPC server");
ABSL_FLAG(std::string, service, "", "service name to check; empty: the whole server");
ABSL_FLAG(int, timeout_ms, 1000, "deadline of each check");
ABSL_FLAG(int, wait_ms, 0, "keep checking for this long until SERVING");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) {
    std::fprintf(stderr, "health_probe: --target=host:port is required\n");
    return 2;
  }
  const absl::Time give_up = absl::Now() + absl::Milliseconds(absl::GetFlag(FLAGS_wait_ms));
  for (;;) {
    auto status = marketlens::grpc_health::CheckHealth(target, absl::GetFlag(FLAGS_service),
                                                       absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
    if (status.ok() && *status == ::grpc::health::v1::HealthCheckResponse::SERVING) {
      std::printf("%s SERVING\n", target.c_str());
      return 0;
    }
    if (absl::Now() >= give_up) {
      std::fprintf(stderr, "%s %s\n", target.c_str(),
                   status.ok() ? marketlens::grpc_health::ServingStatusName(*status).c_str()
                               : status.status().ToString().c_str());
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}
