// Connection settings for RedisClient. Timeouts are short on purpose: Redis only holds what can be
// rebuilt (cache, streams), so a slow or dead Redis must cost a request at most one short timeout, never
// a hang. The password comes from the environment or a mounted secret file, read by the caller; it is
// never hard-coded.
#ifndef MARKETLENS_COMMON_REDIS_OPTIONS_H_
#define MARKETLENS_COMMON_REDIS_OPTIONS_H_

#include <string>

#include "absl/time/time.h"

namespace marketlens::redis {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 56379;  // The project's local Redis (docs/architecture.md, Ports), not 6379, to avoid a system-wide one.
  // ACL user and password; empty password: no AUTH. Never logged.
  std::string username;
  std::string password;
  int db = 0;  // SELECTed on every new connection when not 0.

  // TCP connect (plus the AUTH/SELECT/PING handshake) on a new connection.
  absl::Duration connect_timeout = absl::Milliseconds(200);
  // Send/receive timeout of one command (blocking stream reads add their block time to this).
  absl::Duration command_timeout = absl::Milliseconds(200);

  // At most this many connections; a caller waits up to `pool_wait` for a free one, then gets
  // RESOURCE_EXHAUSTED.
  int pool_size = 8;
  absl::Duration pool_wait = absl::Milliseconds(100);

  // After a failed connect, or `down_after_timeouts` consecutive command timeouts, Redis is considered
  // down: calls fail at once with UNAVAILABLE, and a single probe connect is tried again after
  // down_backoff ± 50% (jittered so that replicas don't reconnect in lockstep).
  absl::Duration down_backoff = absl::Seconds(1);
  int down_after_timeouts = 3;

  // Name in logs and error messages, e.g. "analyzer-cache".
  std::string name = "redis";
};

}  // namespace marketlens::redis

#endif  // MARKETLENS_COMMON_REDIS_OPTIONS_H_
