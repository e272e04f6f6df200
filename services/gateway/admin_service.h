// marketlens.gateway.v1.GatewayAdminService on the gateway's gRPC port (cluster-internal): create, list and
// revoke API keys, for tools that prefer gRPC to the CLI (grpcurl, an operator's script). Same store as the
// CLI and the HTTP side.
#ifndef MARKETLENS_SERVICES_GATEWAY_ADMIN_SERVICE_H_
#define MARKETLENS_SERVICES_GATEWAY_ADMIN_SERVICE_H_

#include "marketlens/gateway/v1/gateway.grpc.pb.h"
#include "services/gateway/api_keys.h"

namespace marketlens::gateway {

// ApiKey -> its proto (no secret, no hash).
void ToProto(const ApiKey& key, v1::ApiKey* out);

class GatewayAdminServiceImpl final : public v1::GatewayAdminService::Service {
 public:
  explicit GatewayAdminServiceImpl(ApiKeyStore* store) : store_(store) {}

  grpc::Status CreateApiKey(grpc::ServerContext* context, const v1::CreateApiKeyRequest* request,
                            v1::CreateApiKeyResponse* response) override;
  grpc::Status ListApiKeys(grpc::ServerContext* context, const v1::ListApiKeysRequest* request,
                           v1::ListApiKeysResponse* response) override;
  grpc::Status RevokeApiKey(grpc::ServerContext* context, const v1::RevokeApiKeyRequest* request,
                            v1::ApiKey* response) override;

 private:
  ApiKeyStore* const store_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_ADMIN_SERVICE_H_
