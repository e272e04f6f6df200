#include "common/postgres/pool.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/retry/backoff.h"

// Automatic reactivation (libpqxx 6 reconnecting a broken connection behind our back) is switched off
// with the deprecated inhibit_reactivation(): the pool alone decides when to reconnect, so that session
// settings and prepared statements are set up in one place.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace marketlens::postgres {

struct PgPool::Lease::Conn {
  std::unique_ptr<pqxx::connection> conn;
  size_t prepared = 0;  // statements_[0, prepared) are defined on conn
};

namespace {

bool IsUri(const std::string& dsn) {
  return absl::StartsWith(dsn, "postgresql://") || absl::StartsWith(dsn, "postgres://");
}

std::string PercentEncode(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// A keyword/value value in single quotes, with ' and \ escaped.
std::string QuoteConnValue(absl::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// Errors opening a connection that retrying will not fix get their own codes.
absl::Status RefineConnectError(absl::Status status) {
  if (status.code() != absl::StatusCode::kUnavailable) return status;
  absl::string_view m = status.message();
  if (absl::StrContains(m, "password authentication failed") ||
      absl::StrContains(m, "no password supplied") ||
      (absl::StrContains(m, "role \"") && absl::StrContains(m, "does not exist"))) {
    return absl::UnauthenticatedError(m);
  }
  if (absl::StrContains(m, "database \"") && absl::StrContains(m, "does not exist")) {
    return absl::FailedPreconditionError(m);
  }
  return status;
}

std::unique_ptr<pqxx::transaction_base> BeginTransaction(pqxx::connection& conn, IsolationLevel level,
                                                         bool read_only) {
  switch (level) {
    case IsolationLevel::kReadCommitted:
      if (read_only) return std::make_unique<pqxx::transaction<pqxx::read_committed, pqxx::read_only>>(conn);
      return std::make_unique<pqxx::transaction<pqxx::read_committed, pqxx::read_write>>(conn);
    case IsolationLevel::kRepeatableRead:
      if (read_only) return std::make_unique<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(conn);
      return std::make_unique<pqxx::transaction<pqxx::repeatable_read, pqxx::read_write>>(conn);
    case IsolationLevel::kSerializable:
      if (read_only) return std::make_unique<pqxx::transaction<pqxx::serializable, pqxx::read_only>>(conn);
      return std::make_unique<pqxx::transaction<pqxx::serializable, pqxx::read_write>>(conn);
  }
  return nullptr;
}

absl::Status WithNote(const absl::Status& status, absl::string_view note) {
  absl::Status out(status.code(), absl::StrCat(status.message(), " [", note, "]"));
  std::string sqlstate = SqlStateOf(status);
  if (!sqlstate.empty()) out.SetPayload(kSqlStatePayload, absl::Cord(sqlstate));
  return out;
}

}  // namespace

std::string BuildConnectionString(const PoolOptions& options, int connect_timeout_seconds) {
  std::string out = options.dsn;
  if (IsUri(out)) {
    absl::StrAppend(&out, absl::StrContains(out, "?") ? "&" : "?",
                    "connect_timeout=", connect_timeout_seconds);
    if (!options.application_name.empty()) {
      absl::StrAppend(&out, "&application_name=", PercentEncode(options.application_name));
    }
  } else {
    absl::StrAppend(&out, out.empty() ? "" : " ", "connect_timeout=", connect_timeout_seconds);
    if (!options.application_name.empty()) {
      absl::StrAppend(&out, " application_name=", QuoteConnValue(options.application_name));
    }
  }
  return out;
}

// ---- Lease -------------------------------------------------------------------------------------------

PgPool::Lease::Lease(PgPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}

PgPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)), discard_(other.discard_) {}

PgPool::Lease& PgPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) pool_->Release(std::move(conn_), discard_);
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
    discard_ = other.discard_;
  }
  return *this;
}

PgPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_), discard_);
}

// ---- Pool --------------------------------------------------------------------------------------------

PgPool::PgPool(PoolOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Create(PoolOptions options) {
  if (options.max_size < 1) return absl::InvalidArgumentError("postgres pool: max_size must be >= 1");
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("postgres pool: connect_timeout must be > 0");
  }
  if (options.statement_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("postgres pool: statement_timeout must be >= 0");
  }
  return std::unique_ptr<PgPool>(new PgPool(std::move(options)));
}

PgPool::~PgPool() {
  std::vector<std::unique_ptr<Lease::Conn>> idle;
  {
    absl::MutexLock lock(&mu_);
    idle.swap(idle_);
  }
  // Closing happens here, outside the lock.
}

absl::Status PgPool::Prepare(const std::string& name, const std::string& sql) {
  if (name.empty()) return absl::InvalidArgumentError("postgres prepare: empty statement name");
  absl::MutexLock lock(&mu_);
  auto it = statement_sql_.find(name);
  if (it != statement_sql_.end()) {
    if (it->second == sql) return absl::OkStatus();
    return absl::AlreadyExistsError(
        absl::StrCat("postgres prepare: statement '", name, "' is already registered with other SQL"));
  }
  statement_sql_.emplace(name, sql);
  statements_.emplace_back(name, sql);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PgPool::Lease::Conn>> PgPool::Open(absl::Time deadline) {
  const absl::Duration remaining = deadline - absl::Now();
  if (remaining <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError("postgres connect: deadline passed before connecting");
  }
  // libpq counts whole seconds and treats anything below 2 as 2.
  const int timeout_s = std::max<int>(
      2, static_cast<int>(std::ceil(absl::ToDoubleSeconds(std::min(options_.connect_timeout, remaining)))));
  auto conn = std::make_unique<Lease::Conn>();
  try {
    conn->conn = std::make_unique<pqxx::connection>(BuildConnectionString(options_, timeout_s));
    conn->conn->inhibit_reactivation(true);
    if (options_.statement_timeout > absl::ZeroDuration()) {
      pqxx::nontransaction setup(*conn->conn);
      setup.exec(absl::StrCat("SET statement_timeout = ", Millis(options_.statement_timeout)));
    }
  } catch (...) {
    absl::Status status = RefineConnectError(StatusFromException(std::current_exception(), "connect"));
    logging::Debug("postgres connect failed", {{"status", status}});
    return status;
  }
  {
    absl::MutexLock lock(&mu_);
    ++opened_total_;
  }
  logging::Debug("postgres connection opened", {{"backend_pid", conn->conn->backendpid()}});
  return conn;
}

absl::Status PgPool::SyncPrepared(Lease::Conn& conn) {
  std::vector<std::pair<std::string, std::string>> missing;
  {
    absl::MutexLock lock(&mu_);
    if (conn.prepared >= statements_.size()) return absl::OkStatus();
    missing.assign(statements_.begin() + conn.prepared, statements_.end());
  }
  try {
    // Lazy in libpqxx 6: sent to the server on the statement's first use on this connection.
    for (const auto& [name, sql] : missing) conn.conn->prepare(name, sql);
  } catch (...) {
    return StatusFromException(std::current_exception(), "prepare");
  }
  conn.prepared += missing.size();
  return absl::OkStatus();
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire(absl::Time deadline) {
  std::unique_ptr<Lease::Conn> conn;
  {
    absl::MutexLock lock(&mu_);
    while (true) {
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
        break;
      }
      if (open_ < options_.max_size) {
        ++open_;  // a slot for the connection opened below
        break;
      }
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "postgres pool: no connection free within the deadline (all ", options_.max_size, " in use)"));
      }
      ++waiting_;
      returned_.WaitWithDeadline(&mu_, deadline);
      --waiting_;
    }
  }
  if (conn == nullptr) {
    absl::StatusOr<std::unique_ptr<Lease::Conn>> opened = Open(deadline);
    if (!opened.ok()) {
      absl::MutexLock lock(&mu_);
      --open_;
      returned_.Signal();
      return opened.status();
    }
    conn = *std::move(opened);
  }
  Lease lease(this, std::move(conn));
  absl::Status status = SyncPrepared(*lease.conn_);
  if (!status.ok()) {
    lease.Discard();
    return status;
  }
  return lease;
}

void PgPool::Release(std::unique_ptr<Lease::Conn> conn, bool discard) {
  bool broken = discard || conn->conn == nullptr || !conn->conn->is_open();
  if (broken) {
    conn.reset();  // closes the connection, outside the lock
    absl::MutexLock lock(&mu_);
    --open_;
    ++discarded_total_;
    returned_.Signal();
    return;
  }
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(conn));
  returned_.Signal();
}

void PgPool::DiscardIdle() {
  std::vector<std::unique_ptr<Lease::Conn>> idle;
  {
    absl::MutexLock lock(&mu_);
    idle.swap(idle_);
    open_ -= static_cast<int>(idle.size());
    discarded_total_ += static_cast<int64_t>(idle.size());
    returned_.SignalAll();
  }
  if (!idle.empty()) logging::Info("postgres pool: dropped idle connections", {{"count", idle.size()}});
}

absl::Status PgPool::TransactOnce(Lease& lease, absl::FunctionRef<absl::Status(Tx&)> fn,
                                  const TxOptions& options, absl::Time deadline, int attempt) {
  pqxx::connection& conn = *lease.conn_->conn;
  absl::Status result;
  {
    std::unique_ptr<pqxx::transaction_base> work;
    try {
      work = BeginTransaction(conn, options.isolation, options.read_only);
    } catch (...) {
      result = StatusFromException(std::current_exception(), "begin");
    }
    if (work != nullptr) {
      Tx tx(work.get(), attempt, options.isolation);
      const absl::Duration remaining = deadline - absl::Now();
      absl::Status fn_status;
      if (remaining <= absl::ZeroDuration()) {
        fn_status = absl::DeadlineExceededError("postgres transaction: deadline passed");
      } else if (options_.statement_timeout == absl::ZeroDuration() ||
                 remaining < options_.statement_timeout) {
        // Statements must not outlive the caller's deadline.
        fn_status = tx.Exec("SELECT set_config('statement_timeout', $1, true)",
                            std::to_string(std::max<int64_t>(1, Millis(remaining))))
                        .status();
      }
      if (fn_status.ok()) {
        try {
          fn_status = fn(tx);
        } catch (...) {
          fn_status = tx.Record(StatusFromException(std::current_exception(), "transaction"));
        }
      }
      if (!tx.error().ok()) {
        // A statement failed: PostgreSQL has aborted the transaction whatever fn returned.
        result = (fn_status.ok() || IsRetryableTxError(tx.error())) ? tx.error() : fn_status;
      } else if (!fn_status.ok()) {
        result = fn_status;  // the caller chose to roll back
      } else {
        try {
          work->commit();
        } catch (...) {
          result = StatusFromException(std::current_exception(), "commit");
        }
      }
      if (!result.ok()) {
        try {
          work->abort();
        } catch (...) {
        }
      }
    }
  }
  if (result.code() == absl::StatusCode::kUnavailable || result.code() == absl::StatusCode::kUnknown ||
      !conn.is_open()) {
    lease.Discard();
    if (result.code() == absl::StatusCode::kUnavailable || !conn.is_open()) DiscardIdle();
  }
  return result;
}

absl::Status PgPool::Transact(absl::FunctionRef<absl::Status(Tx&)> fn, const TxOptions& options) {
  const absl::Time deadline = absl::Now() + options.timeout;
  for (int attempt = 1;; ++attempt) {
    absl::Status status;
    {
      absl::StatusOr<Lease> lease = Acquire(deadline);
      status = lease.ok() ? TransactOnce(*lease, fn, options, deadline, attempt) : lease.status();
    }
    if (status.ok() || !IsRetryableTxError(status)) return status;
    const absl::Duration wait = retry::FullJitterDelay(options.backoff, attempt - 1);
    const bool out_of_attempts = options.backoff.max_attempts > 0 && attempt >= options.backoff.max_attempts;
    if (out_of_attempts || absl::Now() + wait >= deadline) {
      // The code stays the one of the last failure (UNAVAILABLE / ABORTED), so callers see why.
      absl::Status final_status = WithNote(
          status, absl::StrCat("gave up after ", attempt, " attempts", out_of_attempts ? "" : ": deadline"));
      logging::Warn("postgres transaction failed after retries", {{"status", final_status}});
      return final_status;
    }
    logging::Debug("postgres transaction retry",
                   {{"attempt", attempt}, {"status", status}, {"wait_ms", Millis(wait)}});
    absl::SleepFor(wait);
  }
}

absl::Status PgPool::Ping(absl::Duration timeout) {
  TxOptions options;
  options.timeout = timeout;
  options.read_only = true;
  return Transact([](Tx& tx) { return tx.Exec("SELECT 1").status(); }, options);
}

PgPool::Stats PgPool::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s;
  s.open = open_;
  s.idle = static_cast<int>(idle_.size());
  s.waiting = waiting_;
  s.opened_total = opened_total_;
  s.discarded_total = discarded_total_;
  return s;
}

}  // namespace marketlens::postgres

#pragma GCC diagnostic pop
