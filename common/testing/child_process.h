// A service binary started by a test (posix_spawn, stdout and stderr appended to a log file), and a plain
// HTTP GET for its /metrics. When the object goes away a process still running gets SIGTERM, and SIGKILL
// if it has not exited 5 s later.
#ifndef MARKETLENS_COMMON_TESTING_CHILD_PROCESS_H_
#define MARKETLENS_COMMON_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace marketlens::testing {

class ChildProcess {
 public:
  // args[0] is the binary's path.
  ChildProcess(const std::vector<std::string>& args, const std::string& log);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends `sig` (0: none) and waits up to `timeout` for the exit (then SIGKILL); returns the exit code,
  // 128 + the signal when killed, -1 when the process never started or was already waited for by Kill
  // (an exit seen by Running() is returned).
  int Kill(int sig, absl::Duration timeout = absl::Seconds(20));
  // Whether it is still running (an exit is reaped here, and its code kept for Kill).
  bool Running();
  // kill -9 if still running, then a start with the same arguments (the log appended): a crash and restart.
  void Restart();
  // What the process wrote so far.
  std::string Log() const;

 private:
  static int ExitCode(int wait_status);
  void Spawn();

  std::vector<std::string> args_;
  pid_t pid_ = -1;
  int exit_code_ = -1;  // once reaped by Running()
  std::string log_;
};

// The whole HTTP/1.0 response (status line, headers and body) of GET `path` on 127.0.0.1:`port`; empty
// when nothing listens there.
std::string HttpGet(int port, const std::string& path);

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_CHILD_PROCESS_H_
