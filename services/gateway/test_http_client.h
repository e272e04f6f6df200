// A blocking HTTP/1.1 client over a raw socket for the gateway's tests. Raw on purpose: tests must be able
// to send malformed, oversized, partial and slow requests that a real client library would refuse to send,
// and to see exactly when the server closes the connection. Responses are parsed with Beast's parser.
#ifndef MARKETLENS_SERVICES_GATEWAY_TEST_HTTP_CLIENT_H_
#define MARKETLENS_SERVICES_GATEWAY_TEST_HTTP_CLIENT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace marketlens::gateway::testing {

struct TestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names; repeated headers joined with ", "
  std::string body;
  bool keep_alive = true;

  std::string Header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? "" : it->second;
  }
};

class TestConnection {
 public:
  // Connects to 127.0.0.1:port.
  static absl::StatusOr<TestConnection> Connect(int port, absl::Duration timeout = absl::Seconds(5));
  TestConnection(TestConnection&& other) noexcept;
  TestConnection& operator=(TestConnection&& other) noexcept;
  ~TestConnection();

  absl::Status Send(absl::string_view bytes);
  // A full request: method, target, extra headers, body (Content-Length added when body is non-empty or the
  // method is POST/PUT/PATCH).
  absl::Status SendRequest(absl::string_view method, absl::string_view target,
                           const std::vector<std::pair<std::string, std::string>>& headers = {},
                           absl::string_view body = "");
  // Reads one response. DEADLINE_EXCEEDED on timeout, UNAVAILABLE when the server closed first.
  absl::StatusOr<TestResponse> ReadResponse(absl::Duration timeout = absl::Seconds(10));
  // True when the server closes the connection (EOF or reset) within `timeout` (any bytes read meanwhile
  // are discarded).
  bool WaitClosed(absl::Duration timeout);

 private:
  explicit TestConnection(int fd) : fd_(fd) {}
  int fd_ = -1;
  std::string pending_;
};

// One request on a new connection.
absl::StatusOr<TestResponse> HttpCall(int port, absl::string_view method, absl::string_view target,
                                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                                      absl::string_view body = "",
                                      absl::Duration timeout = absl::Seconds(10));

}  // namespace marketlens::gateway::testing

#endif  // MARKETLENS_SERVICES_GATEWAY_TEST_HTTP_CLIENT_H_
