#include "common/testing/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

// A one-shot server on 127.0.0.1: reads the request head, answers `response`, closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 1);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, response = std::move(response)] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[1024];
      for (ssize_t n; request_.find("\r\n\r\n") == std::string::npos && (n = ::read(c, buf, sizeof buf)) > 0;)
        request_.append(buf, static_cast<size_t>(n));
      (void)!::write(c, response.data(), response.size());
      ::close(c);
    });
  }
  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  // The request received (after the exchange).
  std::string request() {
    thread_.join();
    return request_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

TEST(HttpGetTest, ReturnsTheWholeResponseOfAPlainGet) {
  OneShotServer server("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nup 1\n");
  EXPECT_EQ(HttpGet(server.port(), "/metrics"), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nup 1\n");
  EXPECT_EQ(server.request(), "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
}

TEST(HttpGetTest, NothingListeningIsEmpty) { EXPECT_EQ(HttpGet(1, "/metrics"), ""); }

}  // namespace
}  // namespace marketlens::testing
