#include "common/redis/client.h"

#include <hiredis/hiredis.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/status/macros.h"

namespace marketlens::redis {

struct RedisClient::Connection {
  redisContext* ctx = nullptr;
  uint64_t generation = 0;
  absl::Duration timeout = absl::ZeroDuration();  // Socket timeout currently set on ctx.
};

void RedisClient::Deleter::operator()(Connection* c) const {
  if (c == nullptr) return;
  if (c->ctx != nullptr) redisFree(c->ctx);
  delete c;
}

namespace {

// hiredis writes with write(2), not send(MSG_NOSIGNAL): a write to a connection that Redis has reset
// would raise SIGPIPE and kill the process. A network service never wants that default, so the first
// client switches it to "ignore" unless the program installed its own handler.
void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current;
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

timeval ToTv(absl::Duration d) {
  if (d <= absl::ZeroDuration()) d = absl::Milliseconds(1);
  return absl::ToTimeval(d);
}

// Milliseconds for PX/PEXPIRE, rounded up so that a sub-millisecond TTL does not become 0.
int64_t CeilMillis(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  return ms < 1 ? 1 : ms;
}

std::string CommandName(const std::vector<std::string>& argv) {
  return argv.empty() ? std::string("(empty)") : argv[0];
}

}  // namespace

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) { IgnoreSigpipeOnce(); }

RedisClient::~RedisClient() {
  absl::MutexLock lock(&mu_);
  idle_.clear();
}

absl::Status RedisClient::Fail(absl::Status status) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  return status;
}

absl::StatusOr<RedisClient::ConnPtr> RedisClient::Connect() {
  connects_.fetch_add(1, std::memory_order_relaxed);
  const std::string where = absl::StrCat(options_.host, ":", options_.port);
  redisContext* raw =
      redisConnectWithTimeout(options_.host.c_str(), options_.port, ToTv(options_.connect_timeout));
  if (raw == nullptr) {
    return absl::UnavailableError(absl::StrCat("redis ", options_.name, ": cannot allocate a context"));
  }
  ConnPtr conn(new Connection);
  conn->ctx = raw;
  if (raw->err != 0) {
    return absl::UnavailableError(
        absl::StrCat("redis ", options_.name, ": connect ", where, ": ", raw->errstr));
  }
  redisSetTimeout(raw, ToTv(options_.connect_timeout));
  redisEnableKeepAlive(raw);

  // The handshake runs under the connect timeout. It always includes one round trip (AUTH, SELECT or
  // PING), so a server that accepts TCP connections but does not answer (hung, overloaded) counts as
  // down instead of passing for healthy.
  std::vector<std::vector<std::string>> handshake;
  if (!options_.password.empty()) {
    if (options_.username.empty()) {
      handshake.push_back({"AUTH", options_.password});
    } else {
      handshake.push_back({"AUTH", options_.username, options_.password});
    }
  }
  if (options_.db != 0) handshake.push_back({"SELECT", absl::StrCat(options_.db)});
  if (handshake.empty()) handshake.push_back({"PING"});
  for (const auto& argv : handshake) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    for (const std::string& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(raw, static_cast<int>(args.size()), args.data(), lens.data()));
    if (reply == nullptr) {
      const bool timed_out = raw->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
      return absl::UnavailableError(absl::StrCat(
          "redis ", options_.name, ": ", argv[0], " on ", where, ": ",
          timed_out ? absl::StrCat("no answer within ", absl::FormatDuration(options_.connect_timeout))
                    : std::string(raw->errstr[0] ? raw->errstr : "no reply")));
    }
    Reply r = Reply::FromHiredis(reply);
    freeReplyObject(reply);
    if (r.is_error()) return ErrorReplyToStatus(r.str());  // Never echoes the password.
  }
  redisSetTimeout(raw, ToTv(options_.command_timeout));
  conn->timeout = options_.command_timeout;
  return conn;
}

absl::StatusOr<RedisClient::ConnPtr> RedisClient::Acquire(bool& reused) {
  reused = false;
  const absl::Time wait_deadline = absl::Now() + options_.pool_wait;
  bool probe = false;
  {
    absl::MutexLock lock(&mu_);
    while (true) {
      while (!idle_.empty()) {
        ConnPtr conn = std::move(idle_.back());
        idle_.pop_back();
        if (conn->generation == generation_) {
          reused = true;
          return conn;
        }
        --open_;  // From before a reset: drop it.
      }
      if (down_) {
        absl::Time now = absl::Now();
        if (probing_ || now < retry_at_) {
          fast_failures_.fetch_add(1, std::memory_order_relaxed);
          return Fail(absl::UnavailableError(absl::StrCat(
              "redis ", options_.name, " (", options_.host, ":", options_.port, ") is down: ", down_reason_,
              "; next attempt in ",
              absl::FormatDuration(absl::Trunc(retry_at_ > now ? retry_at_ - now : absl::ZeroDuration(),
                                               absl::Milliseconds(1))))));
        }
      }
      if (open_ < options_.pool_size) {
        ++open_;
        if (down_) probing_ = probe = true;  // Only one caller probes a down server.
        break;
      }
      if (idle_available_.WaitWithDeadline(&mu_, wait_deadline) && idle_.empty() &&
          open_ >= options_.pool_size) {
        return Fail(absl::ResourceExhaustedError(absl::StrCat("redis ", options_.name, ": all ",
                                                              options_.pool_size, " connections busy for ",
                                                              absl::FormatDuration(options_.pool_wait))));
      }
    }
  }

  auto conn = Connect();
  if (!conn.ok()) {
    connect_failures_.fetch_add(1, std::memory_order_relaxed);
    {
      absl::MutexLock lock(&mu_);
      --open_;
      if (probe) probing_ = false;
      idle_available_.Signal();
    }
    MarkDown(conn.status());
    return Fail(conn.status());
  }
  {
    absl::MutexLock lock(&mu_);
    (*conn)->generation = generation_;
    if (probe) probing_ = false;
  }
  MarkUp();
  return conn;
}

void RedisClient::Release(ConnPtr conn) {
  absl::MutexLock lock(&mu_);
  consecutive_timeouts_ = 0;
  if (conn->generation == generation_ && !down_) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  idle_available_.Signal();
}

void RedisClient::Discard(ConnPtr conn, bool flush_pool) {
  conn.reset();
  absl::MutexLock lock(&mu_);
  --open_;
  if (flush_pool) {
    ++generation_;
    open_ -= static_cast<int>(idle_.size());
    idle_.clear();
  }
  idle_available_.SignalAll();
}

void RedisClient::MarkDown(const absl::Status& cause) {
  bool newly_down = false;
  absl::Duration wait;
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = absl::Now();
    newly_down = !down_;
    if (newly_down) down_since_ = now;
    down_ = true;
    down_reason_ = std::string(cause.message());
    wait = options_.down_backoff * absl::Uniform(rng_, 0.5, 1.5);
    retry_at_ = now + wait;
    consecutive_timeouts_ = 0;
    // Whatever is idle was connected to the server that just failed.
    ++generation_;
    open_ -= static_cast<int>(idle_.size());
    idle_.clear();
    idle_available_.SignalAll();
  }
  // Logged once per outage, not once per failed probe.
  if (newly_down) {
    logging::Warn("redis unavailable, failing fast",
                  {{"redis", options_.name},
                   {"addr", absl::StrCat(options_.host, ":", options_.port)},
                   {"error", cause},
                   {"retry_in_ms", absl::ToInt64Milliseconds(wait)}});
  }
}

void RedisClient::MarkUp() {
  absl::Duration down_for;
  {
    absl::MutexLock lock(&mu_);
    if (!down_) return;
    down_ = false;
    down_for = absl::Now() - down_since_;
    consecutive_timeouts_ = 0;
  }
  logging::Info("redis reachable again", {{"redis", options_.name},
                                          {"addr", absl::StrCat(options_.host, ":", options_.port)},
                                          {"down_ms", absl::ToInt64Milliseconds(down_for)}});
}

bool RedisClient::IsDown() const {
  absl::MutexLock lock(&mu_);
  return down_;
}

RedisClient::Stats RedisClient::stats() const {
  Stats s;
  s.commands = commands_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.fast_failures = fast_failures_.load(std::memory_order_relaxed);
  s.connects = connects_.load(std::memory_order_relaxed);
  s.connect_failures = connect_failures_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  s.open_connections = open_;
  return s;
}

absl::StatusOr<Reply> RedisClient::Execute(const std::vector<std::string>& argv, absl::Duration timeout) {
  if (argv.empty()) return Fail(absl::InvalidArgumentError("redis: empty command"));
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }

  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto acquired = Acquire(reused);
    if (!acquired.ok()) return acquired.status();  // Already counted.
    ConnPtr conn = *std::move(acquired);
    redisContext* ctx = conn->ctx;
    if (conn->timeout != timeout) {
      redisSetTimeout(ctx, ToTv(timeout));
      conn->timeout = timeout;
    }

    commands_.fetch_add(1, std::memory_order_relaxed);
    errno = 0;
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(args.size()), args.data(), lens.data()));
    if (raw == nullptr) {
      const int saved_errno = errno;
      const int err = ctx->err;
      const std::string errstr = ctx->errstr;
      const bool timed_out =
          err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                                  errstr.find("temporarily unavailable") != std::string::npos);
      if (timed_out) {
        timeouts_.fetch_add(1, std::memory_order_relaxed);
        Discard(std::move(conn), /*flush_pool=*/false);  // A late reply would desync it.
        bool now_down = false;
        {
          absl::MutexLock lock(&mu_);
          now_down = ++consecutive_timeouts_ >= options_.down_after_timeouts;
        }
        absl::Status status =
            absl::DeadlineExceededError(absl::StrCat("redis ", options_.name, ": ", CommandName(argv),
                                                     " timed out after ", absl::FormatDuration(timeout)));
        if (now_down) MarkDown(status);
        return Fail(status);
      }
      const bool connection_lost =
          err == REDIS_ERR_EOF ||
          (err == REDIS_ERR_IO && (saved_errno == ECONNRESET || saved_errno == EPIPE));
      Discard(std::move(conn), /*flush_pool=*/connection_lost);
      if (connection_lost && reused && attempt == 0) continue;  // Stale pooled connection.
      return Fail(absl::UnavailableError(absl::StrCat("redis ", options_.name, ": ", CommandName(argv), ": ",
                                                      errstr.empty() ? "connection error" : errstr)));
    }
    Reply reply = Reply::FromHiredis(raw);
    freeReplyObject(raw);
    Release(std::move(conn));
    if (reply.is_error()) return Fail(ErrorReplyToStatus(reply.str()));
    return reply;
  }
}

absl::StatusOr<Reply> RedisClient::Command(const std::vector<std::string>& argv) {
  return Execute(argv, options_.command_timeout);
}

absl::StatusOr<Reply> RedisClient::Command(const std::vector<std::string>& argv, absl::Duration timeout) {
  return Execute(argv, timeout);
}

absl::Status RedisClient::Ping() {
  auto reply = Command({"PING"});
  return reply.ok() ? absl::OkStatus() : reply.status();
}

absl::StatusOr<std::optional<std::string>> RedisClient::Get(absl::string_view key) {
  ASSIGN_OR_RETURN(Reply reply, Command({"GET", std::string(key)}));
  if (reply.is_nil()) return std::optional<std::string>();
  if (!reply.is_string()) {
    return absl::InternalError(absl::StrCat("redis: unexpected GET reply ", reply.DebugString()));
  }
  return std::optional<std::string>(reply.str());
}

absl::Status RedisClient::Set(absl::string_view key, absl::string_view value, absl::Duration ttl) {
  std::vector<std::string> argv = {"SET", std::string(key), std::string(value)};
  if (ttl != absl::InfiniteDuration()) {
    if (ttl <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis: SET ttl must be positive, got ", absl::FormatDuration(ttl)));
    }
    argv.push_back("PX");
    argv.push_back(absl::StrCat(CeilMillis(ttl)));
  }
  return Command(argv).status();
}

absl::StatusOr<int64_t> RedisClient::Del(const std::vector<std::string>& keys) {
  if (keys.empty()) return 0;
  std::vector<std::string> argv;
  argv.reserve(keys.size() + 1);
  argv.push_back("DEL");
  argv.insert(argv.end(), keys.begin(), keys.end());
  ASSIGN_OR_RETURN(Reply reply, Command(argv));
  return reply.integer();
}

absl::StatusOr<int64_t> RedisClient::Incr(absl::string_view key, int64_t by) {
  ASSIGN_OR_RETURN(Reply reply, Command({"INCRBY", std::string(key), absl::StrCat(by)}));
  return reply.integer();
}

absl::StatusOr<bool> RedisClient::Expire(absl::string_view key, absl::Duration ttl) {
  if (ttl == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("redis: EXPIRE needs a finite ttl (use PERSIST to remove one)");
  }
  int64_t ms = ttl <= absl::ZeroDuration() ? 0 : CeilMillis(ttl);
  ASSIGN_OR_RETURN(Reply reply, Command({"PEXPIRE", std::string(key), absl::StrCat(ms)}));
  return reply.integer() == 1;
}

absl::StatusOr<std::string> RedisClient::XAdd(absl::string_view stream, const StreamFields& fields,
                                              int64_t approx_maxlen) {
  if (fields.empty()) return absl::InvalidArgumentError("redis: XADD needs at least one field");
  std::vector<std::string> argv = {"XADD", std::string(stream)};
  if (approx_maxlen > 0) {
    argv.insert(argv.end(), {"MAXLEN", "~", absl::StrCat(approx_maxlen)});
  }
  argv.push_back("*");
  for (const auto& [k, v] : fields) {
    argv.push_back(k);
    argv.push_back(v);
  }
  ASSIGN_OR_RETURN(Reply reply, Command(argv));
  if (!reply.is_string()) {
    return absl::InternalError(absl::StrCat("redis: unexpected XADD reply ", reply.DebugString()));
  }
  return reply.str();
}

absl::Status RedisClient::XGroupCreate(absl::string_view stream, absl::string_view group, bool mkstream,
                                       absl::string_view start_id) {
  std::vector<std::string> argv = {"XGROUP", "CREATE", std::string(stream), std::string(group),
                                   std::string(start_id)};
  if (mkstream) argv.push_back("MKSTREAM");
  auto reply = Command(argv);
  if (!reply.ok() && reply.status().code() == absl::StatusCode::kAlreadyExists) {
    return absl::OkStatus();  // BUSYGROUP: another consumer created it first.
  }
  return reply.ok() ? absl::OkStatus() : reply.status();
}

absl::StatusOr<std::vector<StreamEntry>> RedisClient::XReadGroup(absl::string_view group,
                                                                 absl::string_view consumer,
                                                                 absl::string_view stream, int64_t count,
                                                                 int64_t block_ms, absl::string_view id) {
  std::vector<std::string> argv = {"XREADGROUP", "GROUP", std::string(group), std::string(consumer)};
  if (count > 0) argv.insert(argv.end(), {"COUNT", absl::StrCat(count)});
  absl::Duration timeout = options_.command_timeout;
  if (block_ms > 0) {
    argv.insert(argv.end(), {"BLOCK", absl::StrCat(block_ms)});
    timeout += absl::Milliseconds(block_ms);
  }
  argv.insert(argv.end(), {"STREAMS", std::string(stream), std::string(id)});
  ASSIGN_OR_RETURN(Reply reply, Command(argv, timeout));
  return ParseReadReply(reply);
}

absl::StatusOr<int64_t> RedisClient::XAck(absl::string_view stream, absl::string_view group,
                                          const std::vector<std::string>& ids) {
  if (ids.empty()) return 0;
  std::vector<std::string> argv = {"XACK", std::string(stream), std::string(group)};
  argv.insert(argv.end(), ids.begin(), ids.end());
  ASSIGN_OR_RETURN(Reply reply, Command(argv));
  return reply.integer();
}

absl::StatusOr<AutoClaimResult> RedisClient::XAutoClaim(absl::string_view stream, absl::string_view group,
                                                        absl::string_view consumer, absl::Duration min_idle,
                                                        absl::string_view start_id, int64_t count) {
  std::vector<std::string> argv = {"XAUTOCLAIM",
                                   std::string(stream),
                                   std::string(group),
                                   std::string(consumer),
                                   absl::StrCat(absl::ToInt64Milliseconds(min_idle)),
                                   std::string(start_id),
                                   "COUNT",
                                   absl::StrCat(count > 0 ? count : 100)};
  ASSIGN_OR_RETURN(Reply reply, Command(argv));
  return ParseAutoClaimReply(reply);
}

}  // namespace marketlens::redis
