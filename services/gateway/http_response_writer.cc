#include "services/gateway/http_response_writer.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/gateway/api_error.h"

namespace marketlens::gateway {

std::string ResponseHead(const HttpResponse& response, bool keep_alive) {
  const absl::string_view reason = ReasonPhrase(response.status);
  // 1xx, 204 and 304 have no body and no Content-Length.
  const bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
  size_t size = 64 + reason.size();
  for (const auto& [k, v] : response.headers) size += k.size() + v.size() + 4;
  std::string head;
  head.reserve(size);
  absl::StrAppend(&head, "HTTP/1.1 ", response.status, " ", reason, "\r\nServer: marketlens-gateway\r\n");
  for (const auto& [k, v] : response.headers) {
    if (absl::EqualsIgnoreCase(k, "content-length") || absl::EqualsIgnoreCase(k, "connection") ||
        absl::EqualsIgnoreCase(k, "transfer-encoding")) {
      continue;
    }
    absl::StrAppend(&head, k, ": ", v, "\r\n");
  }
  if (!bodiless) absl::StrAppend(&head, "Content-Length: ", response.body.size(), "\r\n");
  if (!keep_alive) head.append("Connection: close\r\n");
  head.append("\r\n");
  return head;
}

std::size_t SendWithoutBlocking(int fd, absl::string_view head, absl::string_view body, bool* failed) {
  std::size_t sent = 0;
  const std::size_t total = head.size() + body.size();
  while (sent < total) {
    iovec iov[2];
    int n_iov = 0;
    if (sent < head.size()) {
      iov[n_iov++] = {const_cast<char*>(head.data()) + sent, head.size() - sent};
      if (!body.empty()) iov[n_iov++] = {const_cast<char*>(body.data()), body.size()};
    } else {
      const std::size_t off = sent - head.size();
      iov[n_iov++] = {const_cast<char*>(body.data()) + off, body.size() - off};
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n_iov;
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    *failed = true;
    break;
  }
  return sent;
}

}  // namespace marketlens::gateway
