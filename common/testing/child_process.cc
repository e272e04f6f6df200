#include "common/testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace marketlens::testing {
namespace {

int ExitCodeOf(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

// Opens `path` for the child's output (close-on-exec: only the dup2'd copies survive the exec).
absl::StatusOr<int> OpenOutput(const std::string& path, bool truncate) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  return fd;
}

}  // namespace

absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("SpawnProcess: empty argv");
  // Everything the child needs is prepared here, before fork(): only async-signal-safe calls after it.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<int> to_close;
  auto close_all = [&to_close] {
    for (int fd : to_close) ::close(fd);
  };
  if (options.stdout_fd >= 0 && !options.stdout_path.empty()) {
    return absl::InvalidArgumentError("SpawnProcess: both stdout_fd and stdout_path");
  }
  int out_fd = options.stdout_fd, err_fd = -1;
  if (!options.stdout_path.empty()) {
    auto fd = OpenOutput(options.stdout_path, options.truncate);
    if (!fd.ok()) return fd.status();
    out_fd = *fd;
    to_close.push_back(out_fd);
  }
  if (!options.stderr_path.empty()) {
    if (options.stderr_path == options.stdout_path) {
      err_fd = out_fd;
    } else {
      auto fd = OpenOutput(options.stderr_path, options.truncate);
      if (!fd.ok()) {
        close_all();
        return fd.status();
      }
      err_fd = *fd;
      to_close.push_back(err_fd);
    }
  }
  int in_fd = options.stdin_fd;
  if (in_fd < 0) {
    in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd >= 0) to_close.push_back(in_fd);
  }
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    close_all();
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(err)));
  }
  if (pid == 0) {
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);  // the test died before the prctl took effect
    }
    if (options.new_session) ::setsid();
    if (cwd != nullptr && ::chdir(cwd) != 0) ::_exit(126);
    if (in_fd >= 0 && ::dup2(in_fd, 0) < 0) ::_exit(126);
    if (out_fd >= 0 && ::dup2(out_fd, 1) < 0) ::_exit(126);
    if (err_fd >= 0 && ::dup2(err_fd, 2) < 0) ::_exit(126);
    if (options.close_other_fds) ::close_range(3, ~0U, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  close_all();
  return pid;
}

absl::StatusOr<int> WaitForExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return ExitCodeOf(status);
    if (r < 0 && errno != EINTR) return absl::InternalError(absl::StrCat("waitpid: ", std::strerror(errno)));
    if (absl::Now() > deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid, " did not exit within ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::StatusOr<int> RunProcess(const std::vector<std::string>& argv, const SpawnOptions& options,
                               absl::Duration timeout) {
  auto pid = SpawnProcess(argv, options);
  if (!pid.ok()) return pid.status();
  return WaitForExit(*pid, timeout);
}

ChildProcess::ChildProcess(const std::vector<std::string>& args, const std::string& log)
    : ChildProcess(args, SpawnOptions{.stdout_path = log, .stderr_path = log}) {}

ChildProcess::ChildProcess(const std::vector<std::string>& args, SpawnOptions options)
    : args_(args), options_(std::move(options)) {
  Spawn();
}

void ChildProcess::Spawn() {
  exit_code_ = -1;
  auto pid = SpawnProcess(args_, options_);
  pid_ = pid.ok() ? *pid : -1;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Kill(SIGTERM, absl::Seconds(5));
}

void ChildProcess::Restart() {
  if (pid_ > 0) Kill(SIGKILL);
  Spawn();
}

int ChildProcess::ExitCode(int wait_status) { return ExitCodeOf(wait_status); }

bool ChildProcess::Signal(int sig) { return pid_ > 0 && ::kill(pid_, sig) == 0; }

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
  exit_code_ = ExitCode(status);
  pid_ = -1;
  return false;
}

int ChildProcess::Kill(int sig, absl::Duration timeout) {
  if (pid_ <= 0) {
    const int code = exit_code_;
    exit_code_ = -1;
    return code;
  }
  if (sig != 0) ::kill(pid_, sig);
  const absl::Time until = absl::Now() + timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
    if (absl::Now() > until) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  pid_ = -1;
  return ExitCode(status);
}

std::string ChildProcess::Log() const {
  std::ifstream in(options_.stdout_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace marketlens::testing
