#include "services/gateway/admin_service.h"

#include <string>

namespace marketlens::gateway {
namespace {

grpc::Status ToGrpc(const absl::Status& st) {
  if (st.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), std::string(st.message()));
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

}  // namespace

void ToProto(const ApiKey& key, v1::ApiKey* out) {
  out->set_id(key.id);
  out->set_name(key.name);
  for (Scope s : key.scopes) {
    out->add_scopes(s == Scope::kRead    ? v1::SCOPE_READ
                    : s == Scope::kWrite ? v1::SCOPE_WRITE
                                         : v1::SCOPE_ADMIN);
  }
  SetTime(key.created_at, out->mutable_created_at());
  if (key.revoked_at.has_value()) SetTime(*key.revoked_at, out->mutable_revoked_at());
  out->set_rate_limit_per_second(key.rate_limit_per_second);
}

grpc::Status GatewayAdminServiceImpl::CreateApiKey(grpc::ServerContext*,
                                                   const v1::CreateApiKeyRequest* request,
                                                   v1::CreateApiKeyResponse* response) {
  std::vector<Scope> scopes;
  for (int s : request->scopes()) {
    switch (s) {
      case v1::SCOPE_READ:
        scopes.push_back(Scope::kRead);
        break;
      case v1::SCOPE_WRITE:
        scopes.push_back(Scope::kWrite);
        break;
      case v1::SCOPE_ADMIN:
        scopes.push_back(Scope::kAdmin);
        break;
      default:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "scopes: SCOPE_READ, SCOPE_WRITE or SCOPE_ADMIN");
    }
  }
  absl::StatusOr<NewApiKey> key = store_->Create(request->name(), scopes, request->rate_limit_per_second());
  if (!key.ok()) return ToGrpc(key.status());
  ToProto(key->key, response->mutable_key());
  response->set_secret(key->secret);
  return grpc::Status::OK;
}

grpc::Status GatewayAdminServiceImpl::ListApiKeys(grpc::ServerContext*, const v1::ListApiKeysRequest*,
                                                  v1::ListApiKeysResponse* response) {
  absl::StatusOr<std::vector<ApiKey>> keys = store_->List();
  if (!keys.ok()) return ToGrpc(keys.status());
  for (const ApiKey& k : *keys) ToProto(k, response->add_keys());
  return grpc::Status::OK;
}

grpc::Status GatewayAdminServiceImpl::RevokeApiKey(grpc::ServerContext*,
                                                   const v1::RevokeApiKeyRequest* request,
                                                   v1::ApiKey* response) {
  absl::StatusOr<ApiKey> key = store_->Revoke(request->id());
  if (!key.ok()) return ToGrpc(key.status());
  ToProto(*key, response);
  return grpc::Status::OK;
}

}  // namespace marketlens::gateway
