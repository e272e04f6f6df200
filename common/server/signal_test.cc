// Sends real signals to a separate server process (signal_test_server) and checks the drain: an in-flight
// call completes, the process exits 0 within the drain deadline; a second signal exits at once.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/testing/child_process.h"
#include "common/testing/grpc_status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"

namespace {

using ::marketlens::testing::IsOk;

std::string ServerBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "marketlens",
                      "/common/server/signal_test_server");
}

// A child process running signal_test_server, with its stdout readable line by line.
class ServerProcess {
 public:
  ServerProcess() {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    auto pid = marketlens::testing::SpawnProcess({ServerBinary()}, {.stdout_fd = out[1]});
    close(out[1]);  // the child holds its copy: end-of-file once it exits
    out_ = out[0];
    if (pid.ok()) {
      pid_ = *pid;
    } else {
      ADD_FAILURE() << pid.status();
    }
  }
  ~ServerProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // The next stdout line, or "" after `timeout`.
  std::string ReadLine(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (left <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) return "";
      char buf[256];
      const ssize_t n = read(out_, buf, sizeof(buf));
      if (n <= 0) return "";
      buffer_.append(buf, n);
    }
  }

  // Waits for the exit; returns the wait status, or -1 after `timeout`.
  int Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return status;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return -1;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  std::string buffer_;
};

grpc::Status GetProduct(int port, const std::string& id, absl::Duration timeout) {
  auto stub = marketlens::marketplace::v1::MarketplaceService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  marketlens::marketplace::v1::GetProductRequest req;
  req.set_product_id(id);
  marketlens::marketplace::v1::Product resp;
  return stub->GetProduct(&ctx, req, &resp);
}

int StartedPort(ServerProcess& p) {
  std::string line = p.ReadLine(absl::Seconds(20));
  absl::string_view rest = line;
  int port = 0;
  if (!absl::ConsumePrefix(&rest, "PORT ") || !absl::SimpleAtoi(rest, &port)) {
    ADD_FAILURE() << "server did not start; first line: \"" << line << "\"";
  }
  return port;
}

TEST(SignalTest, SigtermDrainsInFlightCallAndExitsZero) {
  ServerProcess p;
  ASSERT_GT(p.pid(), 0);
  const int port = StartedPort(p);
  ASSERT_GT(port, 0);
  ASSERT_THAT(GetProduct(port, "B001", absl::Seconds(5)), IsOk());

  grpc::Status slow;
  std::thread caller([&] { slow = GetProduct(port, "sleep:700", absl::Seconds(10)); });
  ASSERT_EQ(p.ReadLine(absl::Seconds(10)), "ENTERED");
  const absl::Time sent = absl::Now();
  ASSERT_EQ(kill(p.pid(), SIGTERM), 0);

  const int status = p.Wait(absl::Seconds(5) + absl::Seconds(2));  // drain_timeout + margin
  caller.join();
  ASSERT_NE(status, -1) << "server did not exit within the drain deadline";
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(slow, IsOk());  // the in-flight call finished
  EXPECT_LT(absl::Now() - sent, absl::Seconds(5));
  EXPECT_FALSE(GetProduct(port, "B002", absl::Milliseconds(500)).ok());  // nobody listens any more
}

TEST(SignalTest, IdleServerExitsPromptlyOnSigint) {
  ServerProcess p;
  const int port = StartedPort(p);
  ASSERT_GT(port, 0);
  const absl::Time sent = absl::Now();
  ASSERT_EQ(kill(p.pid(), SIGINT), 0);
  const int status = p.Wait(absl::Seconds(5));
  ASSERT_NE(status, -1);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(absl::Now() - sent, absl::Seconds(2));
}

TEST(SignalTest, SecondSignalExitsWithoutWaitingForTheDrain) {
  ServerProcess p;
  const int port = StartedPort(p);
  ASSERT_GT(port, 0);
  std::thread caller([&] { (void)GetProduct(port, "sleep:4000", absl::Seconds(10)); });
  ASSERT_EQ(p.ReadLine(absl::Seconds(10)), "ENTERED");
  ASSERT_EQ(kill(p.pid(), SIGTERM), 0);
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time second = absl::Now();
  ASSERT_EQ(kill(p.pid(), SIGTERM), 0);
  const int status = p.Wait(absl::Seconds(3));
  caller.join();
  ASSERT_NE(status, -1);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_LT(absl::Now() - second, absl::Seconds(2));
}

}  // namespace
