// GroundedContent's part of a privacy erasure and export (docs/privacy.md): what the content side keeps
// about a customer outside Postgres. Their rows in raw.* are the collector's to erase; once the gateway's
// tombstone exists LoadCustomer answers NOT_FOUND, so nothing is generated or re-indexed for them again.
#include "absl/strings/str_cat.h"
#include "common/migrate/sha256.h"
#include "common/privacy/person_rows.h"
#include "google/protobuf/struct.pb.h"
#include "services/analyzer/rag/content_service.h"

namespace marketlens::analyzer::rag {

std::string CustomerCacheScope(const std::string& customer_id) {
  return absl::StrCat("customer/", migrate::Sha256Hex(customer_id), "/");
}

absl::Status GroundedContent::ForgetCustomer(const std::string& customer_id,
                                             privacy::v1::EraseUserResponse* out) {
  const size_t removed = corpus_ != nullptr ? corpus_->index()->RemoveCustomer(customer_id) : 0;
  privacy::RecordErased("retrieval_index", static_cast<int64_t>(removed), out);
  // Answers of a remote LLM about the customer (summaries, e-mails); the local engine caches nothing.
  int64_t cached = 0;
  const std::string scope = CustomerCacheScope(customer_id);
  if (llm_ != nullptr) cached += llm_->InvalidateScope(scope);
  if (local_ != nullptr) cached += local_->InvalidateScope(scope);
  privacy::RecordErased("llm_cache", cached, out);
  return absl::OkStatus();
}

absl::Status GroundedContent::ExportCustomer(const std::string& customer_id,
                                             privacy::v1::ExportUserResponse* out) {
  privacy::v1::ExportedTable* table = out->add_tables();
  table->set_name("retrieval_index");
  if (corpus_ == nullptr) return absl::OkStatus();
  for (const auto& [source, id] : corpus_->index()->CustomerDocs(customer_id)) {
    google::protobuf::Struct* row = table->add_rows();
    (*row->mutable_fields())["source"].set_string_value(SourceName(source));
    (*row->mutable_fields())["id"].set_string_value(id);
  }
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer::rag
