#include "common/privacy/person_rows.h"

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "google/protobuf/util/json_util.h"

namespace marketlens::privacy {

absl::Status EraseRows(postgres::Tx& tx, absl::string_view kind, const std::string& sql,
                       const std::string& user_id, v1::EraseUserResponse* out) {
  ASSIGN_OR_RETURN(auto r, tx.Exec(sql, user_id));
  RecordErased(kind, r.affected_rows(), out);
  return absl::OkStatus();
}

void RecordErased(absl::string_view kind, int64_t count, v1::EraseUserResponse* out) {
  v1::ErasedData* e = out->add_erased();
  e->set_kind(std::string(kind));
  e->set_count(count);
}

absl::Status ExportRows(postgres::Tx& tx, absl::string_view name, const std::string& sql,
                        const std::string& user_id, v1::ExportUserResponse* out) {
  ASSIGN_OR_RETURN(auto r, tx.Exec(sql, user_id));
  v1::ExportedTable* table = out->add_tables();
  table->set_name(std::string(name));
  for (const auto& row : r) {
    const std::string json = row[0].as<std::string>();
    auto parsed = google::protobuf::util::JsonStringToMessage(json, table->add_rows());
    if (!parsed.ok()) {
      return absl::InternalError(absl::StrCat("export of ", name, ": a row is not a JSON object"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> IsErased(postgres::Tx& tx, const std::string& user_id) {
  ASSIGN_OR_RETURN(auto r, tx.Exec("SELECT privacy.is_erased($1)", user_id));
  return r[0][0].as<bool>();
}

}  // namespace marketlens::privacy
