// marketlens.privacy.v1.PrivacyService, served by the gateway itself (in-process, behind its HTTP routes;
// docs/privacy.md): RequestErasure creates the job (erasure_store.h) and wakes the driver; GetErasure reads
// it; ExportUser asks every service's ExportUser and merges the answers (all or nothing: an export that
// silently misses a service would be wrong).
#ifndef MARKETLENS_SERVICES_GATEWAY_PRIVACY_SERVICE_H_
#define MARKETLENS_SERVICES_GATEWAY_PRIVACY_SERVICE_H_

#include <map>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "marketlens/privacy/v1/privacy.grpc.pb.h"
#include "services/gateway/erasure_driver.h"
#include "services/gateway/erasure_store.h"

namespace marketlens::gateway {

// The metadata the gateway sends with a call: the caller's API key id (the erasure's requested_by).
inline constexpr char kApiKeyIdMetadata[] = "x-api-key-id";

class PrivacyServiceImpl final : public privacy::v1::PrivacyService::Service {
 public:
  // `store` and `driver` may be null (no Postgres): every call then answers UNAVAILABLE. `backends` maps
  // "collector", "analyzer", "recommender" to their channels (for ExportUser).
  PrivacyServiceImpl(ErasureStore* store, ErasureDriver* driver,
                     std::map<std::string, std::shared_ptr<grpc::Channel>> backends);

  grpc::Status RequestErasure(grpc::ServerContext* ctx, const privacy::v1::RequestErasureRequest* req,
                              privacy::v1::Erasure* resp) override;
  grpc::Status GetErasure(grpc::ServerContext* ctx, const privacy::v1::GetErasureRequest* req,
                          privacy::v1::Erasure* resp) override;
  grpc::Status ExportUser(grpc::ServerContext* ctx, const privacy::v1::ExportUserRequest* req,
                          privacy::v1::UserExport* resp) override;

 private:
  ErasureStore* store_;
  ErasureDriver* driver_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> backends_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_PRIVACY_SERVICE_H_
