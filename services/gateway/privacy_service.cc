#include "services/gateway/privacy_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "marketlens/analyzer/v1/analyzer.grpc.pb.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "marketlens/recommender/v1/recommender.grpc.pb.h"

namespace marketlens::gateway {
namespace {

using privacy::v1::ExportUserRequest;
using privacy::v1::ExportUserResponse;

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

grpc::Status NoDatabase() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "privacy requests need the gateway's Postgres");
}

template <typename Stub>
grpc::Status CallExport(Stub& stub, const ExportUserRequest& req,
                        std::chrono::system_clock::time_point deadline, ExportUserResponse* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline);
  return stub.ExportUser(&ctx, req, out);
}

}  // namespace

PrivacyServiceImpl::PrivacyServiceImpl(ErasureStore* store, ErasureDriver* driver,
                                       std::map<std::string, std::shared_ptr<grpc::Channel>> backends)
    : store_(store), driver_(driver), backends_(std::move(backends)) {}

grpc::Status PrivacyServiceImpl::RequestErasure(grpc::ServerContext* ctx,
                                                const privacy::v1::RequestErasureRequest* req,
                                                privacy::v1::Erasure* resp) {
  if (req->user_id().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "user_id is required");
  if (store_ == nullptr) return NoDatabase();
  std::string requested_by;
  const auto& md = ctx->client_metadata();
  if (auto it = md.find(kApiKeyIdMetadata); it != md.end()) {
    requested_by.assign(it->second.data(), it->second.size());
  }
  auto job = store_->Create(req->user_id(), requested_by);
  if (!job.ok()) return ToGrpc(job.status());
  *resp = *std::move(job);
  if (driver_ != nullptr) driver_->Kick();
  logging::Info("erasure requested", {{"erasure_id", resp->id()}, {"requested_by", requested_by}});
  return grpc::Status::OK;
}

grpc::Status PrivacyServiceImpl::GetErasure(grpc::ServerContext*, const privacy::v1::GetErasureRequest* req,
                                            privacy::v1::Erasure* resp) {
  if (req->id().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "id is required");
  if (store_ == nullptr) return NoDatabase();
  auto job = store_->Get(req->id());
  if (!job.ok()) return ToGrpc(job.status());
  *resp = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status PrivacyServiceImpl::ExportUser(grpc::ServerContext* ctx, const ExportUserRequest* req,
                                            privacy::v1::UserExport* resp) {
  if (req->user_id().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "user_id is required");
  resp->set_user_id(req->user_id());
  const auto deadline = ctx->deadline() < std::chrono::system_clock::now() + std::chrono::seconds(60)
                            ? ctx->deadline()
                            : std::chrono::system_clock::now() + std::chrono::seconds(30);
  for (const std::string& service : ErasureSteps()) {
    auto it = backends_.find(service);
    if (it == backends_.end() || it->second == nullptr) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, absl::StrCat("no ", service, " backend configured"));
    }
    ExportUserResponse part;
    grpc::Status s;
    if (service == "collector") {
      auto stub = collector::v1::CollectorService::NewStub(it->second);
      s = CallExport(*stub, *req, deadline, &part);
    } else if (service == "analyzer") {
      auto stub = analyzer::v1::AnalyzerService::NewStub(it->second);
      s = CallExport(*stub, *req, deadline, &part);
    } else {
      auto stub = recommender::v1::RecommenderService::NewStub(it->second);
      s = CallExport(*stub, *req, deadline, &part);
    }
    if (!s.ok()) {
      // All or nothing: a partial export would claim to be everything.
      return grpc::Status(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT
                              ? s.error_code()
                              : grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("export from the ", service, " failed: ", s.error_message()));
    }
    if (part.service().empty()) part.set_service(service);
    *resp->add_services() = std::move(part);
  }
  return grpc::Status::OK;
}

}  // namespace marketlens::gateway
