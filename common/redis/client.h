// RedisClient: a thread-safe, bounded pool of synchronous hiredis connections with short timeouts.
//
// Why it is built this way:
// - Redis only holds what can be rebuilt (docs/architecture.md), so when it is down a service must keep serving
//   and Redis must not add latency to every request. After a failed connect (or a run of command
//   timeouts) the client is "down": calls fail at once with UNAVAILABLE, without touching the network,
//   and a single probe reconnects after `down_backoff` (jittered). When Redis is back the client
//   recovers by itself; nobody has to recreate it.
// - Connections are lazy: constructing a client never blocks or fails, so a service starts even when
//   Redis is down.
// - A connection that saw an I/O error or timeout is dropped (its protocol state is unknown) and a new
//   one is made on the next use. A reset/EOF on a connection taken from the pool makes every other pooled
//   connection suspect (Redis restarted), so they are all discarded, and the command is retried once on a
//   fresh connection: Redis closes an idle connection only between commands, so the command had not run.
//   (The one exception is Redis crashing while executing exactly that command.)
// - Timeouts map to DEADLINE_EXCEEDED, connection failures to UNAVAILABLE, Redis error replies by prefix
//   (see ErrorReplyToStatus in reply.h).
//
//   RedisClient redis(options);
//   auto value = redis.Get("k");          // StatusOr<std::optional<std::string>>
//   redis.Set("k", "v", absl::Minutes(5));
#ifndef MARKETLENS_COMMON_REDIS_CLIENT_H_
#define MARKETLENS_COMMON_REDIS_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/options.h"
#include "common/redis/reply.h"
#include "common/redis/streams.h"

struct redisContext;

namespace marketlens::redis {

class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  const RedisOptions& options() const { return options_; }

  // Any command, binary-safe (redisCommandArgv). An error reply becomes a Status (see reply.h);
  // nested error replies (e.g. inside a script's array) stay Reply::Error values.
  // Each call may run on a different pooled connection, so commands that put a connection in a state
  // (MULTI/EXEC, WATCH, SUBSCRIBE, CLIENT REPLY, SELECT) are not supported: use EVAL for atomicity.
  absl::StatusOr<Reply> Command(const std::vector<std::string>& argv);
  // Same, with this call's receive timeout instead of options().command_timeout (for blocking
  // commands such as BLPOP or XREADGROUP ... BLOCK).
  absl::StatusOr<Reply> Command(const std::vector<std::string>& argv, absl::Duration timeout);

  absl::Status Ping();

  // ---- Strings / keys -----------------------------------------------------------------------------
  // nullopt when the key does not exist.
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key);
  // ttl > 0: expires after ttl (millisecond precision, at least 1 ms); ttl == InfiniteDuration(): no
  // expiry; ttl <= 0 is INVALID_ARGUMENT.
  absl::Status Set(absl::string_view key, absl::string_view value,
                   absl::Duration ttl = absl::InfiniteDuration());
  // Returns the number of keys removed.
  absl::StatusOr<int64_t> Del(const std::vector<std::string>& keys);
  absl::StatusOr<int64_t> Del(absl::string_view key) {
    return Del(std::vector<std::string>{std::string(key)});
  }
  // INCRBY; returns the new value.
  absl::StatusOr<int64_t> Incr(absl::string_view key, int64_t by = 1);
  // PEXPIRE; false when the key does not exist.
  absl::StatusOr<bool> Expire(absl::string_view key, absl::Duration ttl);

  // ---- Streams ------------------------------------------------------------------------------------
  // XADD stream [MAXLEN ~ approx_maxlen] * f v ...; returns the new entry id. approx_maxlen <= 0: no trim.
  absl::StatusOr<std::string> XAdd(absl::string_view stream, const StreamFields& fields,
                                   int64_t approx_maxlen = 0);
  // XGROUP CREATE stream group start_id [MKSTREAM]. An existing group (BUSYGROUP) is OK, so every
  // consumer can call this at start-up. start_id "0": the group also sees entries added before it was
  // created (nothing published before the first consumer started is lost); "$": only new ones.
  absl::Status XGroupCreate(absl::string_view stream, absl::string_view group, bool mkstream = true,
                            absl::string_view start_id = "0");
  // XREADGROUP GROUP group consumer COUNT count [BLOCK block_ms] STREAMS stream id.
  // id ">": new entries never delivered to the group. id "0": this consumer's own pending entries (read
  // but not acknowledged), which is how a restarted consumer with the same name picks up its work.
  // block_ms <= 0: don't block. Returns an empty vector when nothing arrived. The call's timeout is
  // block_ms + command_timeout.
  absl::StatusOr<std::vector<StreamEntry>> XReadGroup(absl::string_view group, absl::string_view consumer,
                                                      absl::string_view stream, int64_t count,
                                                      int64_t block_ms, absl::string_view id = ">");
  // XACK; returns the number of entries acknowledged.
  absl::StatusOr<int64_t> XAck(absl::string_view stream, absl::string_view group,
                               const std::vector<std::string>& ids);
  // XAUTOCLAIM stream group consumer min_idle start COUNT count: takes over entries pending longer than
  // min_idle from other (dead) consumers, e.g. after a pod was replaced and its consumer name is gone.
  absl::StatusOr<AutoClaimResult> XAutoClaim(absl::string_view stream, absl::string_view group,
                                             absl::string_view consumer, absl::Duration min_idle,
                                             absl::string_view start_id = "0-0", int64_t count = 100);

  // ---- Health -------------------------------------------------------------------------------------
  // True while in the down state (calls fail fast). For readiness reporting; does no I/O.
  bool IsDown() const;

  struct Stats {
    int64_t commands = 0;          // Commands sent to the server.
    int64_t errors = 0;            // Calls that returned a non-OK status (including fast failures).
    int64_t fast_failures = 0;     // Calls refused without I/O because Redis is down.
    int64_t connects = 0;          // Connections made.
    int64_t connect_failures = 0;  // Connect (or handshake) attempts that failed.
    int64_t timeouts = 0;          // Commands that timed out.
    int64_t open_connections = 0;  // Currently open (idle + in use).
  };
  Stats stats() const;

 private:
  struct Connection;
  struct Deleter {
    void operator()(Connection* c) const;
  };
  using ConnPtr = std::unique_ptr<Connection, Deleter>;

  // A connection from the pool or a new one; `reused` tells which.
  absl::StatusOr<ConnPtr> Acquire(bool& reused);
  absl::StatusOr<ConnPtr> Connect();
  void Release(ConnPtr conn);
  // Drops a broken connection; `flush_pool` also drops every idle one (they are probably broken too).
  void Discard(ConnPtr conn, bool flush_pool);
  void MarkDown(const absl::Status& cause) ABSL_LOCKS_EXCLUDED(mu_);
  void MarkUp() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Fail(absl::Status status);
  absl::StatusOr<Reply> Execute(const std::vector<std::string>& argv, absl::Duration timeout);

  const RedisOptions options_;

  mutable absl::Mutex mu_;
  absl::CondVar idle_available_;
  std::vector<ConnPtr> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // Idle + in use + being connected.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  bool probing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time down_since_ ABSL_GUARDED_BY(mu_);
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_);
  std::string down_reason_ ABSL_GUARDED_BY(mu_);
  int consecutive_timeouts_ ABSL_GUARDED_BY(mu_) = 0;
  absl::BitGen rng_ ABSL_GUARDED_BY(mu_);

  std::atomic<int64_t> commands_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> fast_failures_{0};
  std::atomic<int64_t> connects_{0};
  std::atomic<int64_t> connect_failures_{0};
  std::atomic<int64_t> timeouts_{0};
};

}  // namespace marketlens::redis

#endif  // MARKETLENS_COMMON_REDIS_CLIENT_H_
