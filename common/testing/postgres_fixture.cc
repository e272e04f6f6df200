#include "common/testing/postgres_fixture.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status/macros.h"
#include "common/testing/child_process.h"
#include "common/testing/free_port.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"

namespace marketlens::testing {
namespace {

constexpr char kDefaultBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kServerUser[] = "postgres";

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? std::string(value) : fallback;
}

bool IsExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Tail(const std::string& text, size_t max_chars) {
  return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

// Runs argv (argv[0] is a path) with cwd, stdin from /dev/null and stdout+stderr appended to log_path; kills
// it after `timeout`. OK only for exit code 0. The server daemonizes from here: the child keeps none of the
// test's descriptors (SpawnOptions::close_other_fds).
absl::Status RunCommand(const std::vector<std::string>& argv, const std::string& cwd,
                        const std::string& log_path, absl::Duration timeout) {
  absl::StatusOr<int> code =
      RunProcess(argv, {.stdout_path = log_path, .stderr_path = log_path, .cwd = cwd}, timeout);
  if (code.status().code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(
        absl::StrCat(absl::StrJoin(argv, " "), " did not finish within ", absl::FormatDuration(timeout)));
  }
  RETURN_IF_ERROR(code.status());
  if (*code == 0) return absl::OkStatus();
  const std::string how =
      *code < 128 ? absl::StrCat("exit code ", *code) : absl::StrCat("signal ", *code - 128);
  return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), " failed (", how, ")"));
}

bool ValidDatabaseName(absl::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

PostgresServer::PostgresServer(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Create(Options options) {
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(options)));
  RETURN_IF_ERROR(server->Init());
  return server;
}

std::unique_ptr<PostgresServer> PostgresServer::StartOrDie(Options options) {
  auto server = Create(std::move(options));
  if (!server.ok()) {
    std::cerr << "\n*** FATAL: could not start the test PostgreSQL server: " << server.status()
              << "\n*** (integration tests need the PostgreSQL 15 server binaries; they are never skipped)\n"
              << std::flush;
    std::abort();
  }
  return *std::move(server);
}

absl::Status PostgresServer::Init() {
  bin_dir_ = options_.bin_dir.empty() ? EnvOr("MARKETLENS_PG_BIN", kDefaultBinDir) : options_.bin_dir;
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    std::string path = absl::StrCat(bin_dir_, "/", tool);
    if (!IsExecutable(path)) {
      return absl::FailedPreconditionError(
          absl::StrCat("PostgreSQL server binary ", path,
                       " is missing or not executable (install the postgresql-15 package, or set "
                       "MARKETLENS_PG_BIN to the directory holding initdb/pg_ctl/postgres)"));
    }
  }
  if (!ValidDatabaseName(options_.database)) {
    return absl::InvalidArgumentError(absl::StrCat("bad database name: ", options_.database));
  }

  as_root_ = ::geteuid() == 0;
  uid_t server_uid = 0;
  gid_t server_gid = 0;
  if (as_root_) {
    struct passwd* pw = ::getpwnam(kServerUser);
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no `postgres` user to run the server as (PostgreSQL refuses root)");
    }
    server_uid = pw->pw_uid;
    server_gid = pw->pw_gid;
    if (!IsExecutable("/usr/sbin/runuser")) {
      return absl::FailedPreconditionError("running as root, but /usr/sbin/runuser is missing");
    }
  }

  std::string root = options_.tmp_root.empty() ? EnvOr("MARKETLENS_TEST_TMP", "/tmp") : options_.tmp_root;
  std::string templ = absl::StrCat(root, "/marketlens-pg-XXXXXX");
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
  }
  dir_ = buf.data();
  data_dir_ = dir_ + "/data";
  if (as_root_) {
    if (::chown(dir_.c_str(), server_uid, server_gid) != 0) {
      return absl::InternalError(absl::StrCat("chown ", dir_, ": ", std::strerror(errno)));
    }
  }
  ::chmod(dir_.c_str(), 0700);

  RETURN_IF_ERROR(StartReaper());
  RETURN_IF_ERROR(RunAsServerUser({bin_dir_ + "/initdb", "-D", data_dir_, "-U", kServerUser, "-A", "trust",
                                   "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                                  "initdb"));

  // Settings for a disposable, fast server. The port is given on the command line at each start.
  std::vector<std::string> config = {
      "listen_addresses = '127.0.0.1'",
      absl::StrCat("unix_socket_directories = '", dir_, "'"),
      "fsync = off",
      "synchronous_commit = off",
      "full_page_writes = off",
      "shared_buffers = 16MB",
      "max_connections = 60",
      "autovacuum = off",
      "timezone = 'UTC'",
      "deadlock_timeout = '200ms'",
      "log_min_messages = warning",
      "log_min_error_statement = panic",
  };
  for (const std::string& line : options_.extra_config) config.push_back(line);
  {
    std::ofstream conf(data_dir_ + "/postgresql.conf", std::ios::app);
    if (!conf) return absl::InternalError(absl::StrCat("cannot append to ", data_dir_, "/postgresql.conf"));
    conf << "\n# marketlens test fixture\n" << absl::StrJoin(config, "\n") << "\n";
  }

  // The port can be taken between picking and binding it: try a few.
  absl::Status started;
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(int port, PickFreePort());
    port_ = port;
    started = Start();
    if (started.ok()) break;
  }
  RETURN_IF_ERROR(started);

  dsn_ = DsnFor(options_.database);
  return ExecOnMaintenanceDb(absl::StrCat("CREATE DATABASE ", options_.database));
}

PostgresServer::~PostgresServer() {
  if (running_) {
    absl::Status status = Kill();
    if (!status.ok()) std::cerr << "PostgresServer: stopping failed: " << status << "\n";
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  if (reaper_fd_ >= 0) ::close(reaper_fd_);  // the reaper wakes, finds nothing left to do and exits
  // pg_ctl stop has 60 s (-t 60) before the reaper gives up.
  if (reaper_pid_ > 0) (void)WaitForExit(reaper_pid_, absl::Seconds(90));
}

// pg_ctl daemonizes the server, so it outlives a test process that dies without running the destructor
// (a static fixture never deleted, exit(), abort(), a Bazel timeout's SIGKILL). A reaper in its own session
// waits for EOF on a pipe only this process holds (close-on-exec), then stops the server and removes its
// directory.
absl::Status PostgresServer::StartReaper() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  std::vector<std::string> argv = {"/bin/sh", "-c",
                                   "cat >/dev/null; d=$1; shift; \"$@\" >/dev/null 2>&1; rm -rf -- \"$d\"",
                                   "marketlens-pg-reaper", dir_};
  if (as_root_) argv.insert(argv.end(), {"/usr/sbin/runuser", "-u", kServerUser, "--"});
  argv.insert(argv.end(),
              {bin_dir_ + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "-w", "-t", "60", "stop"});
  // Its own session: not in the test's process group, so it survives what kills the test.
  absl::StatusOr<pid_t> pid = SpawnProcess(
      argv,
      {.stdout_path = "/dev/null", .stderr_path = "/dev/null", .stdin_fd = fds[0], .new_session = true});
  ::close(fds[0]);
  if (!pid.ok()) {
    ::close(fds[1]);
    return pid.status();
  }
  reaper_fd_ = fds[1];
  reaper_pid_ = *pid;
  return absl::OkStatus();
}

std::string PostgresServer::DsnFor(absl::string_view database) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " dbname=", database, " user=", kServerUser);
}

absl::Status PostgresServer::RunAsServerUser(const std::vector<std::string>& argv, absl::string_view what) {
  std::vector<std::string> full;
  if (as_root_) full = {"/usr/sbin/runuser", "-u", kServerUser, "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  const std::string log_path = dir_ + "/commands.log";
  absl::Status status = RunCommand(full, dir_, log_path, absl::Seconds(90));
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message(), "\n--- command output ---\n",
                                                  Tail(ReadFileOrEmpty(log_path), 3000),
                                                  "\n--- server log ---\n", Tail(ReadLog(), 3000)));
}

absl::Status PostgresServer::Start() {
  if (running_) return absl::OkStatus();
  absl::Status status = RunAsServerUser({bin_dir_ + "/pg_ctl", "-D", data_dir_, "-l", dir_ + "/server.log",
                                         "-w", "-t", "60", "-o", absl::StrCat("-p ", port_), "start"},
                                        "pg_ctl start");
  if (status.ok()) running_ = true;
  return status;
}

absl::Status PostgresServer::Stop() {
  if (!running_) return absl::OkStatus();
  absl::Status status = RunAsServerUser(
      {bin_dir_ + "/pg_ctl", "-D", data_dir_, "-m", "fast", "-w", "-t", "60", "stop"}, "pg_ctl stop");
  if (status.ok()) running_ = false;
  return status;
}

absl::Status PostgresServer::Kill() {
  if (!running_) return absl::OkStatus();
  absl::Status status =
      RunAsServerUser({bin_dir_ + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "-w", "-t", "60", "stop"},
                      "pg_ctl stop -m immediate");
  if (status.ok()) running_ = false;
  return status;
}

absl::Status PostgresServer::Restart() {
  RETURN_IF_ERROR(Stop());
  return Start();
}

std::string PostgresServer::ReadLog() const { return ReadFileOrEmpty(dir_ + "/server.log"); }

absl::Status PostgresServer::ExecOnMaintenanceDb(const std::string& sql) {
  try {
    pqxx::connection conn(DsnFor("postgres") + " connect_timeout=10");
    pqxx::nontransaction tx(conn);
    tx.exec0(sql);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("`", sql, "` on ", DsnFor("postgres"), ": ", e.what()));
  }
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(absl::string_view name) {
  if (!ValidDatabaseName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad database name '", name, "': use [a-z_][a-z0-9_]*, at most 63 bytes"));
  }
  RETURN_IF_ERROR(ExecOnMaintenanceDb(absl::StrCat("CREATE DATABASE ", name)));
  return DsnFor(name);
}

absl::StatusOr<std::string> PostgresServer::CreateTestDatabase() {
  std::string base = "t";
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info != nullptr) base = absl::StrCat("t_", info->test_suite_name(), "_", info->name());
  std::string name;
  for (char c : base) {
    unsigned char u = static_cast<unsigned char>(c);
    name.push_back(std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_');
  }
  if (name.size() > 52) name.resize(52);
  return CreateDatabase(absl::StrCat(name, "_", ++database_counter_));
}

std::string PostgresServer::CreateTestDatabaseOrFail() {
  absl::StatusOr<std::string> dsn = CreateTestDatabase();
  if (!dsn.ok()) {
    ADD_FAILURE() << "CreateTestDatabase: " << dsn.status();
    return "";
  }
  return *dsn;
}

}  // namespace marketlens::testing
