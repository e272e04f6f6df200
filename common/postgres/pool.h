// PgPool: a bounded pool of PostgreSQL connections with prepared statements and retried transactions.
//
//   PoolOptions options;
//   options.dsn = "host=127.0.0.1 port=55432 dbname=marketlens user=marketlens";  // password: PGPASSWORD
//   options.max_size = 8;                                                           // or ~/.pgpass
//   auto pool = PgPool::Create(options);                  // connects lazily, on first use
//   (*pool)->Prepare("get_product", "SELECT * FROM raw.products WHERE id = $1");
//   absl::Status s = (*pool)->Transact([&](Tx& tx) -> absl::Status {
//     auto r = tx.ExecPrepared("get_product", id);
//     ...
//   });
//
// Connections are opened lazily up to max_size; a caller that finds all of them busy waits until one is
// returned or its deadline passes (DEADLINE_EXCEEDED). A connection that turns out broken is dropped
// (together with the idle ones, which usually died with it: a server restart) and replaced on demand.
// Statements registered with Prepare() are defined on every connection, including ones opened later.
// Transact() runs the function again, after a full-jitter backoff, when the transaction failed with a
// serialization failure / deadlock (ABORTED) or lost its connection before COMMIT (UNAVAILABLE); a
// COMMIT whose outcome is unknown returns UNKNOWN and is never retried. The function may thus run more
// than once: it must not keep state from an earlier try.
//
// The password is never part of this API: put it in the DSN, in PGPASSWORD or in a password file
// (PGPASSFILE / ~/.pgpass), which libpq reads by itself. Thread-safe.
#ifndef MARKETLENS_COMMON_POSTGRES_POOL_H_
#define MARKETLENS_COMMON_POSTGRES_POOL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/errors.h"
#include "common/postgres/tx.h"

namespace marketlens::postgres {

struct PoolOptions {
  // libpq connection string, keyword/value ("host=... port=... dbname=... user=...") or URI
  // ("postgresql://user@host:port/db"). Anything libpq does not get here comes from its PG* variables.
  std::string dsn;
  // Most connections open at once (>= 1).
  int max_size = 8;
  // libpq connect_timeout (whole seconds, at least 2; also cut to the caller's deadline).
  absl::Duration connect_timeout = absl::Seconds(5);
  // Server-side statement_timeout for every statement; zero leaves the server's default. A transaction
  // whose deadline is nearer lowers it for its own statements (see TxOptions::timeout).
  absl::Duration statement_timeout = absl::Seconds(10);
  // Shown in pg_stat_activity.
  std::string application_name = "marketlens";
};

// Builds the libpq connection string actually used: the dsn plus connect_timeout and application_name
// (appended as keywords, or as URI query parameters for a URI dsn). Exposed for tests.
std::string BuildConnectionString(const PoolOptions& options, int connect_timeout_seconds);

class PgPool {
 public:
  // Checks the options; does not connect (the first Acquire/Transact does).
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(PoolOptions options);
  // Closes the idle connections. Every Lease must have been returned before.
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Registers a prepared statement on every connection, now and later. Registering the same name
  // again with the same SQL is a no-op; with different SQL it is ALREADY_EXISTS. The SQL is checked by
  // the server on the statement's first use on a connection.
  absl::Status Prepare(const std::string& name, const std::string& sql);

  // Runs fn in a transaction and commits it if fn returns OK (see the header comment for retries).
  absl::Status Transact(absl::FunctionRef<absl::Status(Tx&)> fn, const TxOptions& options = {});

  // One statement in its own READ COMMITTED transaction (retried like Transact).
  template <typename... Args>
  absl::StatusOr<pqxx::result> Exec(const std::string& sql, const Args&... args) {
    pqxx::result result;
    absl::Status status = Transact([&](Tx& tx) -> absl::Status {
      absl::StatusOr<pqxx::result> r = tx.Exec(sql, args...);
      if (!r.ok()) return r.status();
      result = *std::move(r);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return result;
  }

  template <typename... Args>
  absl::StatusOr<pqxx::result> ExecPrepared(const std::string& name, const Args&... args) {
    pqxx::result result;
    absl::Status status = Transact([&](Tx& tx) -> absl::Status {
      absl::StatusOr<pqxx::result> r = tx.ExecPrepared(name, args...);
      if (!r.ok()) return r.status();
      result = *std::move(r);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return result;
  }

  // SELECT 1 within `timeout`: for readiness probes.
  absl::Status Ping(absl::Duration timeout = absl::Seconds(2));

  // A connection held for the caller's exclusive use; returned to the pool when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();
    // Marks the connection as unusable: it is closed instead of being returned.
    void Discard() { discard_ = true; }

   private:
    friend class PgPool;
    struct Conn;
    Lease(PgPool* pool, std::unique_ptr<Conn> conn);
    PgPool* pool_;
    std::unique_ptr<Conn> conn_;
    bool discard_ = false;
  };

  // Waits for a free connection (or opens one) until `deadline`. DEADLINE_EXCEEDED when all max_size
  // connections stay busy; UNAVAILABLE (or UNAUTHENTICATED etc.) when a new one cannot be opened.
  // Exposed for tests and for callers that need one session across transactions.
  absl::StatusOr<Lease> Acquire(absl::Time deadline);
  // Runs fn(tx) once on a leased connection, without retries.
  absl::Status TransactOnce(Lease& lease, absl::FunctionRef<absl::Status(Tx&)> fn, const TxOptions& options,
                            absl::Time deadline, int attempt);

  struct Stats {
    int open = 0;     // connections open or being opened
    int idle = 0;     // of which waiting in the pool
    int waiting = 0;  // callers waiting in Acquire
    int64_t opened_total = 0;
    int64_t discarded_total = 0;
  };
  Stats stats() const;
  const PoolOptions& options() const { return options_; }

 private:
  explicit PgPool(PoolOptions options);
  absl::StatusOr<std::unique_ptr<Lease::Conn>> Open(absl::Time deadline);
  absl::Status SyncPrepared(Lease::Conn& conn);
  void Release(std::unique_ptr<Lease::Conn> conn, bool discard);
  // Closes every idle connection: called when one is found broken, since the others were most likely
  // cut by the same server restart or network failure.
  void DiscardIdle();

  const PoolOptions options_;

  mutable absl::Mutex mu_;
  absl::CondVar returned_;  // a connection came back or a slot was freed
  std::vector<std::unique_ptr<Lease::Conn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t opened_total_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t discarded_total_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<std::string, std::string>> statements_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> statement_sql_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::postgres

#endif  // MARKETLENS_COMMON_POSTGRES_POOL_H_
