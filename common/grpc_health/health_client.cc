#include "common/grpc_health/health_client.h"

#include "absl/strings/str_cat.h"

namespace marketlens::grpc_health {

absl::StatusOr<ServingStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                          absl::string_view service, absl::Duration timeout) {
  auto stub = ::grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  ::grpc::health::v1::HealthCheckRequest request;
  request.set_service(std::string(service));
  ::grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("health check of \"", service, "\": ", status.error_message()));
  }
  return response.status();
}

absl::StatusOr<ServingStatus> CheckHealth(absl::string_view target, absl::string_view service,
                                          absl::Duration timeout) {
  return CheckHealth(grpc::CreateChannel(std::string(target), grpc::InsecureChannelCredentials()), service,
                     timeout);
}

std::string ServingStatusName(ServingStatus status) {
  return ::grpc::health::v1::HealthCheckResponse::ServingStatus_Name(status);
}

}  // namespace marketlens::grpc_health
