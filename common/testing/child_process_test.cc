#include "common/testing/child_process.h"

#include <signal.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

std::string LogPath(const char* name) { return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name, ".log"); }

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

TEST(HttpGetTest, NothingListeningIsEmpty) { EXPECT_EQ(HttpGet(1, "/metrics"), ""); }

}  // namespace
}  // namespace marketlens::testing
