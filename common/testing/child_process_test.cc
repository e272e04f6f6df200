#include "common/testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

using ::testing::Eq;

std::string LogPath(const char* name) { return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name, ".log"); }

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ChildProcessTest, ReportsTheExitCodeAndWhatItWrote) {
  ChildProcess p({"/bin/sh", "-c", "echo hello; echo oops >&2; exit 3"}, LogPath("exit3"));
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.Running() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(p.Running());
  EXPECT_EQ(p.Kill(SIGTERM), 3);  // the exit Running() saw
  EXPECT_EQ(p.Log(), "hello\noops\n");
  EXPECT_EQ(p.Kill(SIGTERM), -1);  // already waited for
}

TEST(ChildProcessTest, KillEndsARunningProcess) {
  ChildProcess p({"/bin/sleep", "30"}, LogPath("sleep"));
  EXPECT_TRUE(p.Running());
  EXPECT_EQ(p.Kill(SIGTERM), 128 + SIGTERM);
  EXPECT_FALSE(p.Running());
}

TEST(ChildProcessTest, RestartRunsTheSameCommandAgainAppendingToTheLog) {
  ChildProcess p({"/bin/sh", "-c", "echo started; exec sleep 30"}, LogPath("restart"));
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.Log().empty() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  p.Restart();  // kill -9, then the same command
  EXPECT_TRUE(p.Running());
  while (p.Log() != "started\nstarted\n" && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(p.Log(), "started\nstarted\n");
  EXPECT_EQ(p.Kill(SIGTERM), 128 + SIGTERM);
}

TEST(ChildProcessTest, AMissingBinaryNeverRuns) {
  ChildProcess p({"/no/such/binary"}, LogPath("missing"));
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.Running() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(p.Running());
}

TEST(RunProcessTest, SeparateOutputFilesTruncatedAndTheExitCode) {
  const std::string out = LogPath("out"), err = LogPath("err");
  std::ofstream(out) << "old contents\n";
  const SpawnOptions options{.stdout_path = out, .stderr_path = err, .truncate = true};
  EXPECT_THAT(
      RunProcess({"/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 4"}, options, absl::Seconds(10)),
      IsOkAndHolds(Eq(4)));
  EXPECT_EQ(Read(out), "to-out\n");
  EXPECT_EQ(Read(err), "to-err\n");
}

TEST(RunProcessTest, WorkingDirectoryAndStdinFromAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_EQ(::write(fds[1], "piped\n", 6), 6);
  ::close(fds[1]);
  const std::string out = LogPath("cwd");
  const SpawnOptions options{.stdout_path = out, .truncate = true, .stdin_fd = fds[0], .cwd = "/usr"};
  EXPECT_THAT(RunProcess({"/bin/sh", "-c", "pwd; cat"}, options, absl::Seconds(10)), IsOkAndHolds(Eq(0)));
  ::close(fds[0]);
  EXPECT_EQ(Read(out), "/usr\npiped\n");
}

TEST(RunProcessTest, StdoutToAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_THAT(RunProcess({"/bin/sh", "-c", "echo to the pipe"}, {.stdout_fd = fds[1]}, absl::Seconds(10)),
              IsOkAndHolds(Eq(0)));
  ::close(fds[1]);  // the parent's copy: the child's is gone with it, so the read below ends
  std::string got;
  char buf[64];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) got.append(buf, n);
  ::close(fds[0]);
  EXPECT_EQ(got, "to the pipe\n");
  EXPECT_EQ(SpawnProcess({"/bin/true"}, {.stdout_path = LogPath("both"), .stdout_fd = 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RunProcessTest, StdinIsDevNullByDefault) {
  const std::string out = LogPath("stdin");
  EXPECT_THAT(RunProcess({"/bin/sh", "-c", "cat; echo end"}, {.stdout_path = out, .truncate = true},
                         absl::Seconds(10)),
              IsOkAndHolds(Eq(0)));
  EXPECT_EQ(Read(out), "end\n");
}

TEST(RunProcessTest, OtherDescriptorsAreClosedUnlessAsked) {
  const int fd = ::open("/dev/null", O_RDONLY);  // inheritable: no O_CLOEXEC
  ASSERT_GE(fd, 3);
  const std::string has_fd = absl::StrCat("test -e /proc/$$/fd/", fd);
  EXPECT_THAT(RunProcess({"/bin/sh", "-c", has_fd}, {}, absl::Seconds(10)), IsOkAndHolds(Eq(1)));
  EXPECT_THAT(RunProcess({"/bin/sh", "-c", has_fd}, {.close_other_fds = false}, absl::Seconds(10)),
              IsOkAndHolds(Eq(0)));
  ::close(fd);
}

TEST(RunProcessTest, NewSessionMakesTheChildASessionLeader) {
  // Field 6 of /proc/<pid>/stat is the session id; a session leader's is its own pid.
  const std::string leader =
      "read -r pid comm state ppid pgrp session rest </proc/$$/stat; test $session = $$";
  EXPECT_THAT(RunProcess({"/bin/sh", "-c", leader}, {.new_session = true}, absl::Seconds(10)),
              IsOkAndHolds(Eq(0)));
  EXPECT_THAT(RunProcess({"/bin/sh", "-c", leader}, {}, absl::Seconds(10)), IsOkAndHolds(Eq(1)));
}

TEST(RunProcessTest, TimeoutKillsAndIsDeadlineExceeded) {
  EXPECT_THAT(RunProcess({"/bin/sleep", "30"}, {}, absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(RunProcessTest, AMissingBinaryExits127AndAMissingDirectory126) {
  EXPECT_THAT(RunProcess({"/no/such/binary"}, {}, absl::Seconds(10)), IsOkAndHolds(Eq(127)));
  EXPECT_THAT(RunProcess({"/bin/true"}, {.cwd = "/no/such/dir"}, absl::Seconds(10)), IsOkAndHolds(Eq(126)));
  EXPECT_THAT(RunProcess({"/bin/true"}, {.stdout_path = "/no/such/dir/out"}, absl::Seconds(10)),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(ChildProcessTest, SignalDoesNotWaitAndKillCollectsTheExit) {
  ChildProcess p({"/bin/sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done"},
                 LogPath("trap"));
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.Log().empty() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));  // the trap is set
  EXPECT_TRUE(p.Signal(SIGTERM));
  EXPECT_EQ(p.Kill(0, absl::Seconds(10)), 0);
  EXPECT_FALSE(p.Signal(SIGTERM));
}

}  // namespace
}  // namespace marketlens::testing
