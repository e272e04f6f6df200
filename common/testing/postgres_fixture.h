// A throwaway PostgreSQL 15 server for integration tests.
//
// Each PostgresServer owns a fresh cluster in a temp directory (initdb, trust auth, 127.0.0.1 only, a
// free port, its unix socket in the same directory, fsync off and small buffers so that it starts in
// about a second). Tests that share one server should each work in their own database
// (CreateTestDatabase()) so that they never see each other's tables.
//
//   class MyTest : public ::testing::Test {
//    protected:
//     static void SetUpTestSuite() { server_ = PostgresServer::StartOrDie().release(); }
//     static void TearDownTestSuite() { delete server_; }
//     static PostgresServer* server_;
//   };
//   TEST_F(MyTest, X) { std::string dsn = server_->CreateTestDatabaseOrFail(); ... }
//
// Missing binaries are a test failure, never a skip: StartOrDie() prints why and aborts.
//
// PostgreSQL refuses to run as root. When the test runs as root, initdb/pg_ctl run as the `postgres`
// user through `runuser`, and the directory lives under /tmp (chowned to postgres) because the Bazel
// output tree under /root is not traversable by that user. Such tests must be tagged "no-sandbox"
// (the sandbox's user namespace cannot switch users).
#ifndef MARKETLENS_COMMON_TESTING_POSTGRES_FIXTURE_H_
#define MARKETLENS_COMMON_TESTING_POSTGRES_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::testing {

class PostgresServer {
 public:
  struct Options {
    // The database created at start-up; dsn() points at it.
    std::string database = "marketlens_test";
    // Where the server binaries are; empty: $MARKETLENS_PG_BIN, else /usr/lib/postgresql/15/bin.
    std::string bin_dir;
    // Parent of the temp directory; empty: $MARKETLENS_TEST_TMP, else /tmp.
    std::string tmp_root;
    // Extra postgresql.conf lines.
    std::vector<std::string> extra_config;
  };

  // initdb + start + CREATE DATABASE. Errors say what is missing or what the server logged.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Create(Options options);
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Create() { return Create(Options()); }
  // Create(), or print the reason to stderr and abort: for SetUpTestSuite and main().
  static std::unique_ptr<PostgresServer> StartOrDie(Options options);
  static std::unique_ptr<PostgresServer> StartOrDie() { return StartOrDie(Options()); }

  // Stops the server (immediately) and removes its directory.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // libpq keyword/value connection string of the start-up database:
  // "host=127.0.0.1 port=N dbname=marketlens_test user=postgres".
  const std::string& dsn() const { return dsn_; }
  // The same for another database on this server.
  std::string DsnFor(absl::string_view database) const;
  int port() const { return port_; }
  const std::string& database() const { return options_.database; }
  // The directory holding data/, the socket and the logs.
  const std::string& dir() const { return dir_; }
  bool running() const { return running_; }

  // Clean shutdown (waits for clients to be disconnected: fast mode). Keeps port and data.
  absl::Status Stop();
  // Starts again on the same port with the same data; returns once it accepts connections.
  absl::Status Start();
  absl::Status Restart();
  // Immediate shutdown (like a crash: no checkpoint; recovery runs at the next Start()).
  absl::Status Kill();

  // CREATE DATABASE `name` (letters, digits, '_'; at most 63 bytes); returns its dsn.
  absl::StatusOr<std::string> CreateDatabase(absl::string_view name);
  // A fresh database named after the running gtest test (plus a counter); returns its dsn.
  absl::StatusOr<std::string> CreateTestDatabase();
  // CreateTestDatabase(), reporting a failure through gtest (ADD_FAILURE) and returning "" on error.
  std::string CreateTestDatabaseOrFail();

  // The server log (for failure messages).
  std::string ReadLog() const;

 private:
  explicit PostgresServer(Options options);
  absl::Status Init();
  absl::Status RunAsServerUser(const std::vector<std::string>& argv, absl::string_view what);
  absl::Status ExecOnMaintenanceDb(const std::string& sql);
  absl::Status StartReaper();

  // The write end of the reaper's pipe (see StartReaper) and the reaper's pid; -1 when none.
  int reaper_fd_ = -1;
  pid_t reaper_pid_ = -1;

  Options options_;
  std::string bin_dir_;
  std::string dir_;
  std::string data_dir_;
  std::string dsn_;
  int port_ = 0;
  bool as_root_ = false;
  bool running_ = false;
  int database_counter_ = 0;
};

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_POSTGRES_FIXTURE_H_
