// AnalyzerService.EraseUser and ExportUser (docs/privacy.md). The analyzer stores nothing keyed by a person
// in Postgres (insights.* are per review and product; a forgotten reviewer's reviews keep their text under
// a pseudonymous id, see the collector); what it keeps about a customer is in the content side: retrieval-
// index entries and cached LLM answers (ContentService::ForgetCustomer / ExportCustomer).
#include "common/logging/log.h"
#include "services/analyzer/analyzer_service.h"

namespace marketlens::analyzer {

grpc::Status AnalyzerServiceImpl::EraseUser(grpc::ServerContext*, const privacy::v1::EraseUserRequest* req,
                                            privacy::v1::EraseUserResponse* resp) {
  if (req->user_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "user_id must not be empty");
  }
  if (content_ != nullptr) {
    if (absl::Status s = content_->ForgetCustomer(req->user_id(), resp); !s.ok()) return ToGrpc(s);
  }
  logging::Info("person erased", {{"erasure_id", req->erasure_id()}});
  return grpc::Status::OK;
}

grpc::Status AnalyzerServiceImpl::ExportUser(grpc::ServerContext*, const privacy::v1::ExportUserRequest* req,
                                             privacy::v1::ExportUserResponse* resp) {
  if (req->user_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "user_id must not be empty");
  }
  resp->set_service("analyzer");
  if (content_ != nullptr) {
    if (absl::Status s = content_->ExportCustomer(req->user_id(), resp); !s.ok()) return ToGrpc(s);
  }
  return grpc::Status::OK;
}

}  // namespace marketlens::analyzer
