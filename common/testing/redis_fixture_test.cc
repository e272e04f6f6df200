#include "common/testing/redis_fixture.h"

#include <signal.h>
#include <sys/stat.h>

#include <string>

#include "absl/strings/match.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

using ::marketlens::testing::IsOk;

bool DirExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

TEST(RedisFixtureTest, StartsAndAnswersPing) {
  auto server = RedisServer::Create();
  ASSERT_THAT(server, IsOk()) << server.status();
  EXPECT_EQ((*server)->host(), "127.0.0.1");
  EXPECT_GT((*server)->port(), 0);
  EXPECT_TRUE((*server)->running());
  auto pong = (*server)->RawCommand("PING");
  ASSERT_THAT(pong, IsOk()) << pong.status();
  EXPECT_EQ(*pong, "+PONG");
}

TEST(RedisFixtureTest, StopAndStartKeepThePort) {
  auto server = RedisServer::Create();
  ASSERT_THAT(server, IsOk()) << server.status();
  RedisServer& s = **server;
  int port = s.port();
  ASSERT_THAT(s.RawCommand("SET k v"), IsOk());

  ASSERT_THAT(s.Stop(), IsOk());
  EXPECT_FALSE(s.running());
  auto down = s.RawCommand("PING");
  EXPECT_FALSE(down.ok());
  EXPECT_THAT(s.Stop(), IsOk()) << "Stop twice is a no-op";

  ASSERT_THAT(s.Start(), IsOk());
  EXPECT_EQ(s.port(), port);
  auto pong = s.RawCommand("PING");
  ASSERT_THAT(pong, IsOk()) << pong.status();
  EXPECT_EQ(*pong, "+PONG");
  // No persistence: the restarted server is empty.
  auto get = s.RawCommand("GET k");
  ASSERT_THAT(get, IsOk()) << get.status();
  EXPECT_EQ(*get, "$-1");
}

TEST(RedisFixtureTest, PauseHangsAndResumeContinues) {
  auto server = RedisServer::Create();
  ASSERT_THAT(server, IsOk()) << server.status();
  RedisServer& s = **server;
  ASSERT_THAT(s.Pause(), IsOk());
  auto hung = s.RawCommand("PING", absl::Milliseconds(100));
  EXPECT_FALSE(hung.ok());
  ASSERT_THAT(s.Resume(), IsOk());
  auto pong = s.RawCommand("PING");
  ASSERT_THAT(pong, IsOk()) << pong.status();
  EXPECT_EQ(*pong, "+PONG");
}

TEST(RedisFixtureTest, DestructorKillsTheServerAndRemovesItsDir) {
  std::string dir;
  pid_t pid;
  {
    auto server = RedisServer::Create();
    ASSERT_THAT(server, IsOk()) << server.status();
    dir = (*server)->dir();
    pid = (*server)->pid();
    EXPECT_TRUE(DirExists(dir));
  }
  EXPECT_FALSE(DirExists(dir));
  EXPECT_NE(::kill(pid, 0), 0) << "redis-server " << pid << " still alive";
}

TEST(RedisFixtureTest, PasswordIsRequired) {
  RedisServerOptions options;
  options.password = "s3cret-for-test";
  auto server = RedisServer::Create(options);
  ASSERT_THAT(server, IsOk()) << server.status();
  auto noauth = (*server)->RawCommand("GET x");
  ASSERT_THAT(noauth, IsOk());
  EXPECT_TRUE(absl::StartsWith(*noauth, "-NOAUTH")) << *noauth;
}

TEST(RedisFixtureTest, MissingBinaryIsALoudError) {
  RedisServerOptions options;
  options.binary = "/nonexistent/redis-server";
  auto server = RedisServer::Create(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(server.status().message(), "/nonexistent/redis-server"));
}

TEST(RedisFixtureTest, TwoServersGetDifferentPorts) {
  auto a = RedisServer::Create();
  auto b = RedisServer::Create();
  ASSERT_THAT(a, IsOk()) << a.status();
  ASSERT_THAT(b, IsOk()) << b.status();
  EXPECT_NE((*a)->port(), (*b)->port());
}

}  // namespace
}  // namespace marketlens::testing
