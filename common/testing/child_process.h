// Child processes for tests, written once: SpawnProcess (fork + exec with the child's descriptors, working
// directory and session set up as asked), WaitForExit / RunProcess (the exit code, bounded in time), and
// ChildProcess, a service binary started by a test whose output goes to a log file. When a ChildProcess goes
// away a process still running gets SIGTERM, and SIGKILL if it has not exited 5 s later.
#ifndef MARKETLENS_COMMON_TESTING_CHILD_PROCESS_H_
#define MARKETLENS_COMMON_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace marketlens::testing {

// How a child is set up between fork() and exec. Everything (argv, paths, descriptors) is prepared before
// fork(); the child then makes only async-signal-safe calls, so spawning from a threaded test is safe.
struct SpawnOptions {
  // Files for the child's stdout and stderr (created 0644); empty: inherited from the test. The same path
  // for both opens one file description, so the two streams interleave in order.
  std::string stdout_path;
  std::string stderr_path;
  bool truncate = false;  // false: append to the files
  // Instead of stdout_path: the child's stdout is this descriptor (e.g. a pipe's write end, which the parent
  // then closes to see end-of-file when the child exits); -1: stdout_path decides.
  int stdout_fd = -1;
  // The child's stdin: this descriptor (e.g. a pipe's read end; the parent keeps its own copy), or
  // /dev/null when -1.
  int stdin_fd = -1;
  std::string cwd;  // empty: the test's
  // setsid(): the child leaves the test's session and process group, so it survives what kills the test.
  bool new_session = false;
  // SIGKILL to the child when the test process dies, even by a crash (prctl PR_SET_PDEATHSIG).
  bool die_with_parent = false;
  // Close every descriptor above 2 in the child (a daemonizing server must not hold the test's pipes).
  bool close_other_fds = true;
};

// Starts argv (argv[0] is the binary's path, no PATH search). The child exits 127 when the exec fails and
// 126 when the working directory or a file cannot be set up.
absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// The exit code of `pid` (128 + the signal when a signal ended it); after `timeout` the process is killed
// with SIGKILL and the answer is DEADLINE_EXCEEDED.
absl::StatusOr<int> WaitForExit(pid_t pid, absl::Duration timeout);

// SpawnProcess, then WaitForExit.
absl::StatusOr<int> RunProcess(const std::vector<std::string>& argv, const SpawnOptions& options,
                               absl::Duration timeout);

class ChildProcess {
 public:
  // args[0] is the binary's path; stdout and stderr are appended to `log`.
  ChildProcess(const std::vector<std::string>& args, const std::string& log);
  // Output where `options` says (Log() reads options.stdout_path).
  ChildProcess(const std::vector<std::string>& args, SpawnOptions options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends `sig` without waiting (false when the process is not running or the signal could not be sent).
  bool Signal(int sig);
  // Sends `sig` (0: none) and waits up to `timeout` for the exit (then SIGKILL); returns the exit code,
  // 128 + the signal when killed, -1 when the process never started or was already waited for by Kill
  // (an exit seen by Running() is returned).
  int Kill(int sig, absl::Duration timeout = absl::Seconds(20));
  // Whether it is still running (an exit is reaped here, and its code kept for Kill).
  bool Running();
  // kill -9 if still running, then a start with the same arguments (output appended, truncated with
  // SpawnOptions::truncate): a crash and restart.
  void Restart();
  // What the process wrote to stdout (and stderr, when both go to one log) so far.
  std::string Log() const;

 private:
  static int ExitCode(int wait_status);
  void Spawn();

  std::vector<std::string> args_;
  SpawnOptions options_;
  pid_t pid_ = -1;
  int exit_code_ = -1;  // once reaped by Running()
};

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_CHILD_PROCESS_H_
