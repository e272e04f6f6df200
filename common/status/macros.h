// Early-return helpers for absl::Status / absl::StatusOr (Debian's Abseil ships no status macros).
//
//   RETURN_IF_ERROR(tx.Exec(sql));                  // returns the error Status if not OK
//   ASSIGN_OR_RETURN(Row row, LoadRow(id));          // declares `row`, or returns the error
//   ASSIGN_OR_RETURN(existing, LoadRow(id));         // assigns to an existing variable
//
// Both work in functions returning absl::Status or any absl::StatusOr<T>. The expression is evaluated
// exactly once. A left-hand side with a top-level comma (std::pair<int, int> p) needs a type alias.
#ifndef MARKETLENS_COMMON_STATUS_MACROS_H_
#define MARKETLENS_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace marketlens::status_internal {

inline const absl::Status& AsStatus(const absl::Status& status) { return status; }
inline absl::Status AsStatus(absl::Status&& status) { return std::move(status); }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
template <typename T>
absl::Status AsStatus(absl::StatusOr<T>&& status_or) {
  return std::move(status_or).status();
}

}  // namespace marketlens::status_internal

#define MARKETLENS_STATUS_CONCAT_INNER_(a, b) a##b
#define MARKETLENS_STATUS_CONCAT_(a, b) MARKETLENS_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status or absl::StatusOr<T>) and returns its status from the enclosing
// function when it is not OK.
#define RETURN_IF_ERROR(expr)                                                            \
  do {                                                                                   \
    ::absl::Status marketlens_status_ = ::marketlens::status_internal::AsStatus((expr)); \
    if (!marketlens_status_.ok()) return marketlens_status_;                             \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK, otherwise moves its value
// into `lhs` (a declaration or an existing lvalue).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  MARKETLENS_ASSIGN_OR_RETURN_IMPL_(MARKETLENS_STATUS_CONCAT_(marketlens_status_or_, __LINE__), lhs, rexpr)

#define MARKETLENS_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, rexpr) \
  auto status_or = (rexpr);                                      \
  if (!status_or.ok()) return std::move(status_or).status();     \
  lhs = std::move(status_or).value()

#endif  // MARKETLENS_COMMON_STATUS_MACROS_H_
