// Turns libpqxx exceptions into absl::Status, so that no exception leaves //common/postgres.
//
// Mapping (the message keeps the SQLSTATE and the server's text: "[SQLSTATE 23505] ERROR: duplicate ..."):
//   40001 serialization failure, 40P01 deadlock, 55P03 lock not available  -> ABORTED      (retryable)
//   broken connection, 08xxx, 57P01..57P03 (server shutting down/starting)  -> UNAVAILABLE  (retryable)
//   commit outcome unknown (pqxx::in_doubt_error), 40003                     -> UNKNOWN      (never retried)
//   23505 unique violation                                                  -> ALREADY_EXISTS
//   23502 not null, 23514 check, 22xxx data exception (bad input value)     -> INVALID_ARGUMENT
//   23503 foreign key, other 23xxx, 25xxx (e.g. read-only transaction)      -> FAILED_PRECONDITION
//   57014 query canceled (statement_timeout)                                -> DEADLINE_EXCEEDED
//   53xxx insufficient resources (e.g. too many connections)                -> RESOURCE_EXHAUSTED
//   42501 insufficient privilege; 28xxx bad credentials                     -> PERMISSION_DENIED /
//   UNAUTHENTICATED 42xxx syntax error, undefined table/column, ...                         -> INTERNAL
//   anything else                                                           -> INTERNAL
// Syntax errors and unknown tables/columns are INTERNAL on purpose: the SQL text is ours, not the caller's,
// so such an error is a bug (or a missing migration), never a bad request.
#ifndef MARKETLENS_COMMON_POSTGRES_ERRORS_H_
#define MARKETLENS_COMMON_POSTGRES_ERRORS_H_

#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace marketlens::postgres {

// The status payload key under which the SQLSTATE is stored (when the server reported one).
inline constexpr char kSqlStatePayload[] = "type.marketlens/postgres.sqlstate";

// Maps an exception thrown by libpqxx (or anything else) to a Status. `context` names the operation
// ("exec", "commit", "connect", ...), `query` the SQL text (shortened in the message).
absl::Status StatusFromException(std::exception_ptr error, absl::string_view context,
                                 absl::string_view query = "");

// The status code for a SQLSTATE (exposed for tests and for callers mapping their own errors).
absl::StatusCode CodeForSqlState(absl::string_view sqlstate);

// The SQLSTATE a status was built from, or "" (e.g. "23505").
std::string SqlStateOf(const absl::Status& status);

// Whether a whole transaction that failed with `status` may be run again: ABORTED (serialization
// failure, deadlock) and UNAVAILABLE (connection lost before commit).
bool IsRetryableTxError(const absl::Status& status);

}  // namespace marketlens::postgres

#endif  // MARKETLENS_COMMON_POSTGRES_ERRORS_H_
