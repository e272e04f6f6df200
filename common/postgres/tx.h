// Tx: one database transaction handed to the function given to PgPool::Transact.
//
// Every call returns absl::Status(Or); libpqxx exceptions are caught and mapped (errors.h). SQL is
// parameterised with $1..$n only: values never go into the SQL text.
//
//   pool.Transact([&](Tx& tx) -> absl::Status {
//     auto r = tx.Exec("SELECT price_cents FROM raw.products WHERE id = $1", product_id);
//     if (!r.ok()) return r.status();
//     ...
//     return absl::OkStatus();
//   }, {.isolation = IsolationLevel::kSerializable});
//
// After any failed statement PostgreSQL has aborted the transaction: later statements fail and the
// transaction is never committed. Transact() returns that first error (running the whole function again
// when it is retryable), even if the function ignored it. Use INSERT ... ON CONFLICT instead of "try the
// insert and look at the error" inside a transaction.
#ifndef MARKETLENS_COMMON_POSTGRES_TX_H_
#define MARKETLENS_COMMON_POSTGRES_TX_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/retry/backoff.h"
#include "pqxx/pqxx"

namespace marketlens::postgres {

enum class IsolationLevel { kReadCommitted, kRepeatableRead, kSerializable };

const char* IsolationLevelName(IsolationLevel level);

struct TxOptions {
  IsolationLevel isolation = IsolationLevel::kReadCommitted;
  bool read_only = false;
  // Bound on everything: waiting for a connection, connecting, every attempt and the backoff between
  // them. When what is left of it is below the pool's statement timeout, the attempt's statements get
  // that as a local statement_timeout (one more round trip), so that none outlives the deadline.
  absl::Duration timeout = absl::Seconds(30);
  // Retries of the whole transaction on ABORTED (40001, 40P01) and UNAVAILABLE (connection lost before
  // commit); waits use full jitter. max_attempts counts the first try.
  retry::BackoffPolicy backoff = {absl::Milliseconds(5), absl::Milliseconds(500), 2.0, 8};
};

// A read-only transaction bounded by a request's deadline (at least 1 ms: a deadline already passed fails
// at once instead of falling back to the default timeout).
TxOptions ReadOnlyUntil(absl::Time deadline);

class Tx;

// COPY ... FROM STDIN (text format) inside a transaction: the fast way to load many rows. Finish() must
// be called before the transaction runs any other statement; the rows are visible once it commits.
class CopyWriter {
 public:
  ~CopyWriter();
  CopyWriter(const CopyWriter&) = delete;
  CopyWriter& operator=(const CopyWriter&) = delete;

  // One row, in the column order given to Tx::Copy; std::nullopt is NULL. Values are in PostgreSQL's
  // text input format ("42", "2024-01-31T10:00:00Z", "t"); tabs, newlines and backslashes are escaped here.
  absl::Status WriteRow(absl::Span<const std::optional<absl::string_view>> fields);
  absl::Status WriteRow(std::initializer_list<std::optional<absl::string_view>> fields) {
    return WriteRow(absl::MakeConstSpan(fields.begin(), fields.size()));
  }
  // Ends the COPY; errors in the data (a bad integer, a constraint) are reported here. Returns the rows.
  absl::StatusOr<int64_t> Finish();

  int64_t rows() const { return rows_; }

 private:
  friend class Tx;
  struct Impl;
  CopyWriter(Tx* tx, std::unique_ptr<Impl> impl, size_t columns);

  Tx* tx_;
  std::unique_ptr<Impl> impl_;
  size_t columns_;
  int64_t rows_ = 0;
  bool finished_ = false;
  std::string line_;
};

class Tx {
 public:
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;

  // A parameterised statement: $1..$n are bound to args (ints, doubles, bools, std::string, const char*,
  // std::optional<T> for NULL-able values, or pqxx::prepare::make_dynamic_params(container)).
  template <typename... Args>
  absl::StatusOr<pqxx::result> Exec(const std::string& sql, const Args&... args) {
    return Run("exec", sql, [&] { return work_->exec_params(sql, args...); });
  }

  // A statement registered with PgPool::Prepare.
  template <typename... Args>
  absl::StatusOr<pqxx::result> ExecPrepared(const std::string& name, const Args&... args) {
    return Run("exec prepared", name, [&] { return work_->exec_prepared(name, args...); });
  }

  // Several ;-separated statements in one round trip, without parameters (simple query protocol). For
  // trusted SQL text such as migration files; never build this text from input.
  absl::Status ExecScript(const std::string& sql);

  // Starts COPY `table` (columns...) FROM STDIN. Table ("schema.table") and column names must be plain
  // identifiers ([A-Za-z_][A-Za-z0-9_]*); they are quoted here.
  absl::StatusOr<std::unique_ptr<CopyWriter>> Copy(absl::string_view table,
                                                   const std::vector<std::string>& columns);

  // The first statement error of this transaction (OK if none).
  const absl::Status& error() const { return first_error_; }
  // 1 for the first try; grows when Transact runs the function again.
  int attempt() const { return attempt_; }
  IsolationLevel isolation() const { return isolation_; }

  // Escape hatch for libpqxx features not wrapped here. Exceptions thrown through it are caught by
  // Transact, but prefer the wrapped calls.
  pqxx::transaction_base& raw() { return *work_; }

 private:
  friend class PgPool;
  friend class CopyWriter;
  Tx(pqxx::transaction_base* work, int attempt, IsolationLevel isolation)
      : work_(work), attempt_(attempt), isolation_(isolation) {}

  absl::StatusOr<pqxx::result> Run(const char* context, absl::string_view what,
                                   absl::FunctionRef<pqxx::result()> fn);
  absl::Status Record(absl::Status status);

  pqxx::transaction_base* work_;
  int attempt_;
  IsolationLevel isolation_;
  absl::Status first_error_;
  bool copy_open_ = false;
};

// Quotes a plain identifier or "schema.name" for SQL; INVALID_ARGUMENT for anything else.
absl::StatusOr<std::string> QuoteQualifiedName(absl::string_view name);

}  // namespace marketlens::postgres

#endif  // MARKETLENS_COMMON_POSTGRES_TX_H_
