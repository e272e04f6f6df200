#include "common/postgres/errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/types/optional.h"
#include "pqxx/except"

namespace marketlens::postgres {
namespace {

constexpr size_t kMaxQueryInMessage = 200;

std::string ShortQuery(absl::string_view query) {
  std::string q(query.substr(0, kMaxQueryInMessage));
  for (char& c : q) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  if (query.size() > kMaxQueryInMessage) q += "...";
  return q;
}

absl::Status Make(absl::StatusCode code, absl::string_view context, absl::string_view sqlstate,
                  absl::string_view what, absl::string_view query) {
  std::string text(absl::StripAsciiWhitespace(what));
  std::string message = absl::StrCat("postgres ", context, ": ");
  if (!sqlstate.empty()) absl::StrAppend(&message, "[SQLSTATE ", sqlstate, "] ");
  absl::StrAppend(&message, text);
  if (!query.empty()) absl::StrAppend(&message, " (query: ", ShortQuery(query), ")");
  absl::Status status(code, message);
  if (!sqlstate.empty()) status.SetPayload(kSqlStatePayload, absl::Cord(sqlstate));
  return status;
}

}  // namespace

absl::StatusCode CodeForSqlState(absl::string_view s) {
  if (s == "40001" || s == "40P01" || s == "55P03") return absl::StatusCode::kAborted;
  if (s == "40003") return absl::StatusCode::kUnknown;               // statement completion unknown
  if (absl::StartsWith(s, "40")) return absl::StatusCode::kAborted;  // other transaction rollbacks
  if (s == "23505") return absl::StatusCode::kAlreadyExists;
  if (s == "23502" || s == "23514") return absl::StatusCode::kInvalidArgument;
  if (absl::StartsWith(s, "22")) return absl::StatusCode::kInvalidArgument;
  if (absl::StartsWith(s, "23")) return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(s, "25")) return absl::StatusCode::kFailedPrecondition;
  if (s == "57014") return absl::StatusCode::kDeadlineExceeded;
  if (s == "57P01" || s == "57P02" || s == "57P03") return absl::StatusCode::kUnavailable;
  if (absl::StartsWith(s, "08")) return absl::StatusCode::kUnavailable;
  if (absl::StartsWith(s, "53")) return absl::StatusCode::kResourceExhausted;
  if (s == "42501") return absl::StatusCode::kPermissionDenied;
  if (absl::StartsWith(s, "28")) return absl::StatusCode::kUnauthenticated;
  return absl::StatusCode::kInternal;
}

absl::Status StatusFromException(std::exception_ptr error, absl::string_view context,
                                 absl::string_view query) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::in_doubt_error& e) {
    return Make(absl::StatusCode::kUnknown, context, "",
                absl::StrCat("commit outcome unknown (connection lost while committing): ", e.what()), query);
  } catch (const pqxx::broken_connection& e) {
    return Make(absl::StatusCode::kUnavailable, context, "", e.what(), query);
  } catch (const pqxx::serialization_failure& e) {
    return Make(absl::StatusCode::kAborted, context, "40001", e.what(), query);
  } catch (const pqxx::deadlock_detected& e) {
    return Make(absl::StatusCode::kAborted, context, "40P01", e.what(), query);
  } catch (const pqxx::statement_completion_unknown& e) {
    return Make(absl::StatusCode::kUnknown, context, "40003", e.what(), query);
  } catch (const pqxx::transaction_rollback& e) {
    return Make(absl::StatusCode::kAborted, context, "", e.what(), query);
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    std::string q = query.empty() ? e.query() : std::string(query);
    return Make(CodeForSqlState(state), context, state, e.what(), q);
  } catch (const pqxx::usage_error& e) {
    return Make(absl::StatusCode::kInternal, context, "", absl::StrCat("libpqxx usage error: ", e.what()),
                query);
  } catch (const pqxx::conversion_error& e) {
    return Make(absl::StatusCode::kInternal, context, "", absl::StrCat("conversion error: ", e.what()),
                query);
  } catch (const pqxx::failure& e) {
    return Make(absl::StatusCode::kInternal, context, "", e.what(), query);
  } catch (const std::exception& e) {
    return Make(absl::StatusCode::kInternal, context, "", e.what(), query);
  } catch (...) {
    return Make(absl::StatusCode::kUnknown, context, "", "unknown exception", query);
  }
}

std::string SqlStateOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kSqlStatePayload);
  return payload.has_value() ? std::string(*payload) : std::string();
}

bool IsRetryableTxError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kAborted || status.code() == absl::StatusCode::kUnavailable;
}

}  // namespace marketlens::postgres
