// Proves the throwaway PostgreSQL server really runs: queries work, data survives Stop/Start and
// Restart on the same port, Kill() makes it unreachable, and per-test databases are separate.
#include "common/testing/postgres_fixture.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"

namespace marketlens::testing {
namespace {

using ::marketlens::testing::IsOk;

std::string QueryOne(const std::string& dsn, const std::string& sql) {
  pqxx::connection conn(dsn + " connect_timeout=5");
  pqxx::work tx(conn);
  pqxx::result r = tx.exec(sql);
  tx.commit();
  return r.empty() || r[0][0].is_null() ? "" : r[0][0].c_str();
}

bool CanConnect(const std::string& dsn) {
  try {
    pqxx::connection conn(dsn + " connect_timeout=2");
    return conn.is_open();
  } catch (const std::exception&) {
    return false;
  }
}

TEST(PostgresServerTest, StartsStopsRestartsAndKeepsData) {
  std::unique_ptr<PostgresServer> server = PostgresServer::StartOrDie();
  ASSERT_GT(server->port(), 0);
  EXPECT_EQ(server->dsn(), "host=127.0.0.1 port=" + std::to_string(server->port()) +
                               " dbname=marketlens_test user=postgres");
  EXPECT_EQ(QueryOne(server->dsn(), "SELECT current_database()"), "marketlens_test");
  EXPECT_EQ(QueryOne(server->dsn(), "SHOW server_version_num").substr(0, 2), "15");
  EXPECT_EQ(QueryOne(server->dsn(), "SHOW fsync"), "off");
  QueryOne(server->dsn(), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");

  const int port = server->port();
  ASSERT_THAT(server->Stop(), IsOk());
  EXPECT_FALSE(server->running());
  EXPECT_FALSE(CanConnect(server->dsn()));
  ASSERT_THAT(server->Start(), IsOk());
  EXPECT_EQ(server->port(), port);
  EXPECT_EQ(QueryOne(server->dsn(), "SELECT v FROM kept"), "42");

  ASSERT_THAT(server->Restart(), IsOk());
  EXPECT_EQ(server->port(), port);
  EXPECT_EQ(QueryOne(server->dsn(), "SELECT v FROM kept"), "42");

  // Kill is an immediate stop; committed data survives crash recovery.
  ASSERT_THAT(server->Kill(), IsOk());
  EXPECT_FALSE(CanConnect(server->dsn()));
  ASSERT_THAT(server->Start(), IsOk());
  EXPECT_EQ(QueryOne(server->dsn(), "SELECT v FROM kept"), "42");
}

TEST(PostgresServerTest, ConnectionFromOldSessionBreaksOnRestart) {
  std::unique_ptr<PostgresServer> server = PostgresServer::StartOrDie();
  pqxx::connection conn(server->dsn());
  ASSERT_THAT(server->Restart(), IsOk());
  EXPECT_THROW(
      {
        pqxx::work tx(conn);
        tx.exec("SELECT 1");
      },
      pqxx::broken_connection);
}

TEST(PostgresServerTest, TestDatabasesAreSeparate) {
  std::unique_ptr<PostgresServer> server = PostgresServer::StartOrDie();
  std::string a = server->CreateTestDatabaseOrFail();
  std::string b = server->CreateTestDatabaseOrFail();
  ASSERT_FALSE(a.empty());
  ASSERT_NE(a, b);
  QueryOne(a, "CREATE TABLE only_in_a (v int)");
  EXPECT_EQ(QueryOne(a, "SELECT to_regclass('only_in_a')::text"), "only_in_a");
  EXPECT_EQ(QueryOne(b, "SELECT to_regclass('only_in_a')::text"), "");

  absl::StatusOr<std::string> named = server->CreateDatabase("named_db");
  ASSERT_THAT(named, IsOk()) << named.status();
  EXPECT_EQ(QueryOne(*named, "SELECT current_database()"), "named_db");
  EXPECT_EQ(server->CreateDatabase("Bad-Name").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(server->CreateDatabase("named_db").ok());  // already exists
}

TEST(PostgresServerTest, DestructorRemovesDirectory) {
  std::string dir;
  {
    std::unique_ptr<PostgresServer> server = PostgresServer::StartOrDie();
    dir = server->dir();
    struct stat st;
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  }
  struct stat st;
  EXPECT_NE(::stat(dir.c_str(), &st), 0) << dir << " still exists";
}

// A test process that dies without running the destructor (SIGKILL, like a Bazel timeout) must not leave
// its server running: the reaper stops it and removes its directory.
TEST(PostgresServerTest, ServerOfAKilledProcessIsReaped) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto server = PostgresServer::Create();
    const std::string line = server.ok() ? absl::StrCat((*server)->dsn(), "\n", (*server)->dir(), "\n") : "";
    (void)!::write(fds[1], line.data(), line.size());
    ::kill(::getpid(), SIGKILL);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  ::waitpid(child, nullptr, 0);
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << "the child could not start a server";
  const std::string dsn = lines[0], dir = lines[1];
  struct stat st;
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = ::stat(dir.c_str(), &st) != 0 && !CanConnect(dsn);
    if (!gone) ::usleep(100 * 1000);
  }
  EXPECT_TRUE(gone) << dir << " or its server outlived the killed test process";
}

TEST(PostgresServerTest, MissingBinariesFailLoudly) {
  PostgresServer::Options options;
  options.bin_dir = "/nonexistent/postgresql/bin";
  auto server = PostgresServer::Create(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(server.status().message().find("/nonexistent/postgresql/bin/initdb"), std::string::npos)
      << server.status();
}

}  // namespace
}  // namespace marketlens::testing
