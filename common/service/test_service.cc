// A service with no service implementation of its own, for service_main_test.sh: it exercises the shared
// start-up (flags, environment, validation), health and shutdown exactly as the real services do. It asks
// for Redis, which the test points at a closed port: the service must still serve. Its one shutdown hook
// logs "test_service shutdown hook", so the test can see where in the shutdown it runs.
#include "common/logging/log.h"
#include "common/service/service_main.h"

int main(int argc, char** argv) {
  return marketlens::service::RunService(
      argc, argv, {.name = "test_service", .grpc_port = 1, .metrics_port = 2, .redis = true},
      [](marketlens::service::ServiceContext& ctx) {
        ctx.AddShutdownHook("test", [] { marketlens::logging::Info("test_service shutdown hook"); });
        return absl::OkStatus();
      });
}
