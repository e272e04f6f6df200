// A throwaway redis-server for integration tests: 127.0.0.1, a free port, no persistence, its own temp
// dir. Tests assert against a real Redis rather than a mock, so the client's reconnect and fail-fast
// behaviour is exercised for real. Stop()/Start() (same port) and Pause()/Resume() (SIGSTOP/SIGCONT, a
// "hung" server whose socket still accepts connections) let tests take Redis down and bring it back.
//
// A missing redis-server binary is an error from Create() with a clear message; tests ASSERT on it, so a
// machine without Redis fails loudly instead of silently skipping.
//
//   auto server = marketlens::testing::RedisServer::Create();
//   ASSERT_TRUE(server.ok()) << server.status();
//   client_options.port = (*server)->port();
#ifndef MARKETLENS_COMMON_TESTING_REDIS_FIXTURE_H_
#define MARKETLENS_COMMON_TESTING_REDIS_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace marketlens::testing {

struct RedisServerOptions {
  // Path of redis-server. Empty: $REDIS_SERVER_BIN, else /usr/bin/redis-server, else the first one on PATH.
  std::string binary;
  // Non-empty: started with --requirepass (for AUTH tests).
  std::string password;
  // Appended verbatim to the command line, e.g. {"--maxmemory", "1mb"}.
  std::vector<std::string> extra_args;
  // How long Start() waits for the server to answer PING.
  absl::Duration startup_timeout = absl::Seconds(10);
};

class RedisServer {
 public:
  // Picks a free port, makes a temp dir and starts the server; returns once it answers PING.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Create(RedisServerOptions options = {});

  // Kills the server (if running) and removes its temp dir.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& password() const { return options_.password; }
  // The server's working dir (holds redis.log).
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Kills the server with SIGKILL (like a crash: clients see their connections reset) and reaps it.
  // No-op when already stopped.
  absl::Status Stop();
  // Starts it again on the same port and waits for PING. No-op when running.
  absl::Status Start();
  // SIGSTOP / SIGCONT: the server hangs (connects still succeed via the kernel backlog, commands never
  // answer), then continues.
  absl::Status Pause();
  absl::Status Resume();

  // Sends one inline command on a fresh connection and returns the first reply line (e.g. "+PONG"),
  // for tests that want to look at the server without going through the client under test.
  absl::StatusOr<std::string> RawCommand(const std::string& inline_command,
                                         absl::Duration timeout = absl::Seconds(2)) const;

  // The tail of redis.log, for failure messages.
  std::string LogTail(size_t max_bytes = 2000) const;

 private:
  RedisServer(RedisServerOptions options, std::string binary, std::string dir, int port);
  absl::Status Spawn();
  absl::Status WaitUntilReady();

  RedisServerOptions options_;
  std::string binary_;
  std::string dir_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_REDIS_FIXTURE_H_
