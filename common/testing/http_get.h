// The tests' one plain HTTP GET (a /metrics scrape, a health page): HTTP/1.0 over a socket to 127.0.0.1,
// so the server closes the connection after an unchunked body. Tests that must send malformed or partial
// requests use their own client (services/gateway/test_http_client.h).
#ifndef MARKETLENS_COMMON_TESTING_HTTP_GET_H_
#define MARKETLENS_COMMON_TESTING_HTTP_GET_H_

#include <string>

#include "absl/time/time.h"

namespace marketlens::testing {

// The whole response (status line, headers and body) of GET `path` on 127.0.0.1:`port`; empty when nothing
// listens there. A read waits at most `timeout` for more bytes (what arrived by then is returned).
std::string HttpGet(int port, const std::string& path, absl::Duration timeout = absl::Seconds(5));

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_HTTP_GET_H_
