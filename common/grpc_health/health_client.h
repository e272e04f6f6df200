// Asks a gRPC server for its health (grpc.health.v1.Health/Check), with a deadline.
// Used by deploy/local/up.sh (through the `health_probe` binary), the gateway's /readyz and tests.
#ifndef MARKETLENS_COMMON_GRPC_HEALTH_HEALTH_CLIENT_H_
#define MARKETLENS_COMMON_GRPC_HEALTH_HEALTH_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace marketlens::grpc_health {

using ServingStatus = ::grpc::health::v1::HealthCheckResponse::ServingStatus;

// The serving status of `service` ("" = the whole server). A transport failure or a missing service is an
// error Status (UNAVAILABLE, NOT_FOUND, DEADLINE_EXCEEDED, ...).
absl::StatusOr<ServingStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                          absl::string_view service, absl::Duration timeout);

// Convenience: an insecure channel to `target` ("host:port").
absl::StatusOr<ServingStatus> CheckHealth(absl::string_view target, absl::string_view service,
                                          absl::Duration timeout);

std::string ServingStatusName(ServingStatus status);

}  // namespace marketlens::grpc_health

#endif  // MARKETLENS_COMMON_GRPC_HEALTH_HEALTH_CLIENT_H_
