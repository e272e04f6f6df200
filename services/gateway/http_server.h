// A small asynchronous HTTP/1.1 server (Boost.Beast over Asio) that hands each complete request to a handler
// and writes the response the handler gives back, possibly later and from another thread: the gateway
// answers from gRPC completion callbacks, so no server thread ever waits for a backend.
//
// What it protects the gateway from:
// - slow or idle clients: a request must arrive completely within `request_timeout` of its first byte
//   (slowloris), an idle keep-alive connection is closed after `idle_timeout`, a response must be taken
//   within `write_timeout`; a timed-out connection is closed;
// - big requests: headers over `max_header_bytes` get 431, bodies over `max_body_bytes` get 413 (at once
//   from Content-Length, also for "Expect: 100-continue", or as soon as a chunked body passes the limit),
//   malformed HTTP gets 400; each of these closes the connection;
// - too many connections: past `max_connections` new connections are closed at once.
// While a handler works on a request, the server already reads the connection for the next one; EOF or an
// error there fires the request's ClientDisconnect (the client went away). A response is sent at once on
// the thread that answers (a non-blocking send; only what the socket does not take is written later by a
// server thread), so an answered request costs no hop back to a server thread.
// Keep-alive and pipelined requests are served in order on one connection. Stop() stops accepting, lets
// requests in flight finish (bounded), then stops the threads.
// Streamed uploads (HttpServerOptions::stream_uploads): a request on an upload path goes to the handler as
// soon as its head is parsed, with an HttpBodyStream that hands out the body piece by piece as it arrives;
// the socket is read only while the handler asks for more (backpressure), so memory stays bounded whatever
// the body's size. Every other request is read whole first, exactly as before.
#ifndef MARKETLENS_SERVICES_GATEWAY_HTTP_SERVER_H_
#define MARKETLENS_SERVICES_GATEWAY_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/gateway/api_error.h"

namespace marketlens::gateway {

// Tells a handler that its client went away (closed or reset the connection) before the response was
// written, so that work done only for that client (a backend call) can be cancelled. HTTP/1.1 has no other
// cancellation signal: the server reads the socket while the handler works and fires this when it reads
// EOF or an error. (Like Go's net/http, a client that half-closes after sending its request counts as
// gone.) Thread-safe.
class ClientDisconnect {
 public:
  // `fn` runs at most once: on a server thread when the client goes away, or at once (on this thread) if
  // it already has. Replaces an earlier callback.
  void OnDisconnect(std::function<void()> fn);
  bool disconnected() const;
  // Server side: the client is gone (idempotent).
  void Fire();
  // Server side: the response is being written; the callback will not run any more (releases it).
  void Detach();

 private:
  mutable absl::Mutex mu_;
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> fn_ ABSL_GUARDED_BY(mu_);
};

// The body of a streamed request (HttpServerOptions::stream_uploads), read piece by piece as it arrives. The
// server reads the socket only while a Read is pending, so a slow consumer slows the client down (TCP flow
// control): the server holds one piece plus its read buffer (about 64 KiB), whatever the body's size.
// Thread-safe; one Read at a time. A response sent before the body's end closes the connection (the rest of
// the body is never read); send it when no Read is pending.
class HttpBodyStream {
 public:
  virtual ~HttpBodyStream() = default;
  // `done` runs once, on a server thread (or at once on this one when the server is stopping): with the next
  // piece (at most max_bytes, never empty), with "" at the body's end, or with an error, repeated by later
  // Reads: RESOURCE_EXHAUSTED past the path's body limit (answer 413), DEADLINE_EXCEEDED when the body did
  // not arrive within the request timeout (the connection is closed: nothing can be answered), CANCELLED when
  // the client went away, INVALID_ARGUMENT for a malformed body (bad chunked encoding; answer 400).
  using ReadDone = std::function<void(absl::StatusOr<std::string> piece)>;
  virtual void Read(size_t max_bytes, ReadDone done) = 0;
  // Read() for a handler on its own thread: waits for the piece, at most `wait` (then DEADLINE_EXCEEDED).
  absl::StatusOr<std::string> ReadBlocking(size_t max_bytes, absl::Duration wait);
};

// The HTTP answer to an HttpBodyStream error: 413, 408, 400 (CANCELLED: 499, which nobody will read).
ApiError BodyStreamError(const absl::Status& status);

struct HttpRequest {
  std::string method;  // "GET"; any token the client sent
  std::string target;  // "/api/v1/products?page_size=5"
  std::string path;    // "/api/v1/products"
  std::string query;   // "page_size=5" (still percent-encoded)
  // Header names lowercased, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // empty when body_stream is set
  // Set for a streamed upload (HttpServerOptions::stream_uploads): the body, to be read as it arrives.
  std::shared_ptr<HttpBodyStream> body_stream;
  std::string remote_address;  // "127.0.0.1:53122"
  int version = 11;            // 10 or 11
  bool keep_alive = true;
  absl::Time started_at;  // first byte of the request
  // Set by HttpServer (may be null for requests made up by tests): fires when the client goes away.
  std::shared_ptr<ClientDisconnect> disconnect;

  // The first value of a header (name in lowercase), "" when absent.
  absl::string_view Header(absl::string_view lowercase_name) const;
};

struct HttpResponse {
  int status = 200;
  // Content-Length and Connection are set by the server.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // close the connection after this response
};

// Call exactly once, from any thread (further calls are ignored). The response is sent on the calling thread
// with a non-blocking send (what the socket does not take at once is written later by a server thread).
using Responder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest request, Responder respond)>;

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0 picks a free port (see HttpServer::port())
  // Server threads, each with its own event loop; a connection stays on one (round robin). They read and
  // parse requests (responses are mostly sent by the threads that answer), so one or two are plenty.
  int threads = 2;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration write_timeout = absl::Seconds(10);
  int max_connections = 4096;
  // Uploads (POST /api/v1/ingest): requests whose path starts with one of these may have bodies up to
  // upload_max_body_bytes (413 past it) and take upload_request_timeout to arrive.
  std::vector<std::string> upload_paths;
  size_t upload_max_body_bytes = 64 << 20;
  absl::Duration upload_request_timeout = absl::Minutes(5);
  // Upload paths get their body streamed (HttpRequest::body_stream) rather than read whole first. The
  // limits above still hold: past upload_max_body_bytes a Read fails with RESOURCE_EXHAUSTED (or the request
  // gets 413 at once from its Content-Length), past upload_request_timeout with DEADLINE_EXCEEDED.
  bool stream_uploads = false;
  // Called for requests the server refuses itself (400, 413, 431) and for read timeouts (408, nothing is
  // sent), e.g. to count them. May be empty.
  std::function<void(int status, absl::string_view reason, absl::string_view remote)> on_protocol_error;
};

class HttpServer {
 public:
  // Binds and starts serving. UNAVAILABLE naming the address when it cannot listen.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, HttpHandler handler);
  // Stop(absl::Seconds(5)) if still running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // Stops accepting, waits up to `drain` for requests in flight to be answered (their connections are
  // closed after the response), then stops. Idempotent.
  void Stop(absl::Duration drain);

  int64_t open_connections() const;
  // Requests handed to the handler and not answered yet.
  int64_t requests_in_flight() const;

  class Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_HTTP_SERVER_H_
