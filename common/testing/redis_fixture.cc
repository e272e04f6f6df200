#include "common/testing/redis_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/status/macros.h"
#include "common/testing/child_process.h"
#include "common/testing/free_port.h"

namespace marketlens::testing {
namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

absl::StatusOr<std::string> FindBinary(const std::string& configured) {
  if (!configured.empty()) {
    if (IsExecutable(configured)) return configured;
    return absl::FailedPreconditionError(
        absl::StrCat("redis-server binary '", configured, "' does not exist or is not executable"));
  }
  if (const char* env = std::getenv("REDIS_SERVER_BIN"); env != nullptr && *env != '\0') {
    if (IsExecutable(env)) return std::string(env);
    return absl::FailedPreconditionError(
        absl::StrCat("REDIS_SERVER_BIN='", env, "' does not exist or is not executable"));
  }
  if (IsExecutable("/usr/bin/redis-server")) return std::string("/usr/bin/redis-server");
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      std::string candidate = absl::StrCat(dir, "/redis-server");
      if (IsExecutable(candidate)) return candidate;
    }
  }
  return absl::FailedPreconditionError(
      "redis-server not found (looked at $REDIS_SERVER_BIN, /usr/bin/redis-server and $PATH): install "
      "the redis-server package. Redis integration tests cannot run without it.");
}

absl::StatusOr<std::string> MakeTempDir() {
  std::string base = "/tmp";
  if (const char* t = std::getenv("TEST_TMPDIR"); t != nullptr && *t != '\0') base = t;
  std::string templ = absl::StrCat(base, "/redis.XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp(", templ, "): ", std::strerror(errno)));
  }
  return templ;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Create(RedisServerOptions options) {
  ASSIGN_OR_RETURN(auto binary, FindBinary(options.binary));
  absl::Status last = absl::OkStatus();
  // A free port can be taken by someone else between picking and binding: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(auto port, PickFreePort());
    ASSIGN_OR_RETURN(auto dir, MakeTempDir());
    std::unique_ptr<RedisServer> server(new RedisServer(options, binary, dir, port));
    last = server->Start();
    if (last.ok()) return server;
    // The destructor kills whatever was started and removes the dir.
  }
  return last;
}

RedisServer::RedisServer(RedisServerOptions options, std::string binary, std::string dir, int port)
    : options_(std::move(options)), binary_(std::move(binary)), dir_(std::move(dir)), port_(port) {}

RedisServer::~RedisServer() {
  (void)Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

absl::Status RedisServer::Spawn() {
  std::vector<std::string> args = {binary_,  "--port",    absl::StrCat(port_), "--bind",      host_,
                                   "--save", "",          "--appendonly",      "no",          "--dir",
                                   dir_,     "--logfile", dir_ + "/redis.log", "--daemonize", "no"};
  if (!options_.password.empty()) {
    args.push_back("--requirepass");
    args.push_back(options_.password);
  }
  for (const std::string& a : options_.extra_args) args.push_back(a);
  // Dies with the test process (even on a crash), so no stray servers are left behind.
  const std::string out_path = dir_ + "/redis.stdout";
  ASSIGN_OR_RETURN(
      const pid_t pid,
      SpawnProcess(args, {.stdout_path = out_path, .stderr_path = out_path, .die_with_parent = true}));
  pid_ = pid;
  paused_ = false;
  return absl::OkStatus();
}

absl::Status RedisServer::WaitUntilReady() {
  absl::Time deadline = absl::Now() + options_.startup_timeout;
  std::string last_reply;
  while (true) {
    int wstatus = 0;
    pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat("redis-server on port ", port_,
                                                 " exited during start-up (status ", wstatus, "); log:\n",
                                                 LogTail()));
    }
    auto reply = RawCommand("PING", absl::Milliseconds(500));
    if (reply.ok()) {
      last_reply = *reply;
      // With --requirepass an unauthenticated PING gets NOAUTH, which still proves it is serving.
      if (absl::StartsWith(*reply, "+PONG") || absl::StartsWith(*reply, "-NOAUTH")) {
        return absl::OkStatus();
      }
    } else {
      last_reply = std::string(reply.status().message());
    }
    if (absl::Now() > deadline) {
      (void)Stop();
      return absl::DeadlineExceededError(absl::StrCat(
          "redis-server on port ", port_, " did not answer PING within ",
          absl::FormatDuration(options_.startup_timeout), " (last: ", last_reply, "); log:\n", LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

absl::Status RedisServer::Start() {
  if (running()) return absl::OkStatus();
  RETURN_IF_ERROR(Spawn());
  return WaitUntilReady();
}

absl::Status RedisServer::Stop() {
  if (!running()) return absl::OkStatus();
  ::kill(pid_, SIGKILL);  // Works on a SIGSTOPped process too.
  (void)WaitForExit(pid_, absl::Seconds(10));
  pid_ = -1;
  paused_ = false;
  return absl::OkStatus();
}

absl::Status RedisServer::Pause() {
  if (!running()) return absl::FailedPreconditionError("redis-server is not running");
  if (::kill(pid_, SIGSTOP) != 0) {
    return absl::InternalError(absl::StrCat("kill(SIGSTOP): ", std::strerror(errno)));
  }
  // Wait until the kernel reports it stopped, so the test's next step really sees a hung server.
  int wstatus = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &wstatus, WUNTRACED)) < 0 && errno == EINTR) {
  }
  if (r != pid_ || !WIFSTOPPED(wstatus)) {
    return absl::InternalError("redis-server did not stop on SIGSTOP");
  }
  paused_ = true;
  return absl::OkStatus();
}

absl::Status RedisServer::Resume() {
  if (!running()) return absl::FailedPreconditionError("redis-server is not running");
  if (::kill(pid_, SIGCONT) != 0) {
    return absl::InternalError(absl::StrCat("kill(SIGCONT): ", std::strerror(errno)));
  }
  paused_ = false;
  return absl::OkStatus();
}

absl::StatusOr<std::string> RedisServer::RawCommand(const std::string& inline_command,
                                                    absl::Duration timeout) const {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  timeval tv = absl::ToTimeval(timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  ::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", host_, ":", port_, ": ", std::strerror(err)));
  }
  std::string request = inline_command + "\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("send: ", std::strerror(err)));
  }
  std::string reply;
  char buf[512];
  while (reply.find("\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return absl::UnavailableError(n == 0 ? std::string("connection closed")
                                           : absl::StrCat("recv: ", std::strerror(err)));
    }
    reply.append(buf, n);
  }
  ::close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

std::string RedisServer::LogTail(size_t max_bytes) const {
  std::string out;
  for (const char* name : {"/redis.log", "/redis.stdout"}) {
    std::ifstream in(dir_ + name, std::ios::binary);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string content = ss.str();
    if (content.size() > max_bytes) content = content.substr(content.size() - max_bytes);
    if (!content.empty()) absl::StrAppend(&out, "[", name + 1, "]\n", content);
  }
  return out.empty() ? std::string("(no log output)") : out;
}

}  // namespace marketlens::testing
