// The rows linked to one person, for the services' EraseUser and ExportUser (docs/privacy.md): each step is
// one parameterised statement ($1 = the person's id) whose effect is recorded by kind, never by content.
#ifndef MARKETLENS_COMMON_PRIVACY_PERSON_ROWS_H_
#define MARKETLENS_COMMON_PRIVACY_PERSON_ROWS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/postgres/tx.h"
#include "marketlens/privacy/v1/privacy.pb.h"

namespace marketlens::privacy {

// Runs `sql` (a DELETE or UPDATE with $1 = user_id) and records its affected row count under `kind`.
absl::Status EraseRows(postgres::Tx& tx, absl::string_view kind, const std::string& sql,
                       const std::string& user_id, v1::EraseUserResponse* out);

// Runs `sql` (a SELECT of one json column per row, $1 = user_id: "SELECT row_to_json(t) FROM raw.contacts t
// WHERE t.customer_id = $1") and appends the rows as table `name`.
absl::Status ExportRows(postgres::Tx& tx, absl::string_view name, const std::string& sql,
                        const std::string& user_id, v1::ExportUserResponse* out);

// Adds `count` under `kind` (for what a service erases outside Postgres: index entries, cache keys).
void RecordErased(absl::string_view kind, int64_t count, v1::EraseUserResponse* out);

// true when the person is tombstoned (privacy.tombstones, migration 0049).
absl::StatusOr<bool> IsErased(postgres::Tx& tx, const std::string& user_id);

}  // namespace marketlens::privacy

#endif  // MARKETLENS_COMMON_PRIVACY_PERSON_ROWS_H_
