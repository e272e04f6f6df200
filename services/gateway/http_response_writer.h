// Writing an HTTP/1.1 response on a connection of HttpServer: its head, and the non-blocking send with
// which the answering thread sends it at once (http_session.cc leaves only the rest to an asynchronous
// write).
#ifndef MARKETLENS_SERVICES_GATEWAY_HTTP_RESPONSE_WRITER_H_
#define MARKETLENS_SERVICES_GATEWAY_HTTP_RESPONSE_WRITER_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "services/gateway/http_server.h"

namespace marketlens::gateway {

// The status line and headers of a response (HTTP/1.1; the body goes after them as is). Content-Length and
// Connection are the server's: the handler's are dropped.
std::string ResponseHead(const HttpResponse& response, bool keep_alive);

// Sends head then body on socket `fd`, as much as it takes without blocking (sendmsg, MSG_DONTWAIT);
// returns how many bytes went, and sets `failed` when the connection is broken. The caller keeps `fd` open
// meanwhile (the session holds its lock).
std::size_t SendWithoutBlocking(int fd, absl::string_view head, absl::string_view body, bool* failed);

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_HTTP_RESPONSE_WRITER_H_
