#include "services/gateway/test_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace marketlens::gateway::testing {

namespace http = boost::beast::http;

absl::StatusOr<TestConnection> TestConnection::Connect(int port, absl::Duration timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{};
  tv.tv_sec = absl::ToInt64Seconds(timeout);
  tv.tv_usec = absl::ToInt64Microseconds(timeout) % 1000000;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port, ": ", strerror(err)));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return TestConnection(fd);
}

TestConnection::TestConnection(TestConnection&& other) noexcept
    : fd_(other.fd_), pending_(std::move(other.pending_)) {
  other.fd_ = -1;
}

TestConnection& TestConnection::operator=(TestConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    pending_ = std::move(other.pending_);
    other.fd_ = -1;
  }
  return *this;
}

TestConnection::~TestConnection() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status TestConnection::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status TestConnection::SendRequest(absl::string_view method, absl::string_view target,
                                         const std::vector<std::pair<std::string, std::string>>& headers,
                                         absl::string_view body) {
  std::string req = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    absl::StrAppend(&req, k, ": ", v, "\r\n");
    if (absl::AsciiStrToLower(k) == "content-length" || absl::AsciiStrToLower(k) == "transfer-encoding") {
      has_length = true;
    }
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")) {
    absl::StrAppend(&req, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&req, "\r\n", body);
  return Send(req);
}

absl::StatusOr<TestResponse> TestConnection::ReadResponse(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  parser.eager(true);
  bool eof = false;
  while (!parser.is_done()) {
    if (!pending_.empty()) {
      boost::beast::error_code ec;
      const size_t used = parser.put(boost::asio::buffer(pending_.data(), pending_.size()), ec);
      pending_.erase(0, used);
      if (ec && ec != http::error::need_more)
        return absl::DataLossError(absl::StrCat("bad response: ", ec.message()));
      if (parser.is_done()) break;
      if (used > 0 && !ec) continue;
    }
    if (eof) {
      if (!parser.got_some()) return absl::UnavailableError("the server closed the connection");
      boost::beast::error_code ec;
      parser.put_eof(ec);
      if (!ec && parser.is_done()) break;
      return absl::UnavailableError("the server closed the connection");
    }
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) return absl::DeadlineExceededError("no response in time");
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left_ms));
    if (r == 0) return absl::DeadlineExceededError("no response in time");
    if (r < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) {
        eof = true;
        continue;
      }
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
    }
    if (n == 0) {
      eof = true;
      continue;
    }
    pending_.append(buf, static_cast<size_t>(n));
  }
  const auto& res = parser.get();
  TestResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name = absl::AsciiStrToLower(std::string(f.name_string()));
    auto [it, inserted] = out.headers.emplace(name, std::string(f.value()));
    if (!inserted) absl::StrAppend(&it->second, ", ", std::string(f.value()));
  }
  out.body = res.body();
  out.keep_alive = res.keep_alive();
  return out;
}

bool TestConnection::WaitClosed(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left_ms));
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR) continue;
      return true;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN) return true;
  }
}

absl::StatusOr<TestResponse> HttpCall(int port, absl::string_view method, absl::string_view target,
                                      const std::vector<std::pair<std::string, std::string>>& headers,
                                      absl::string_view body, absl::Duration timeout) {
  ASSIGN_OR_RETURN(TestConnection c, TestConnection::Connect(port, timeout));
  RETURN_IF_ERROR(c.SendRequest(method, target, headers, body));
  return c.ReadResponse(timeout);
}

}  // namespace marketlens::gateway::testing
