// One HTTP connection of HttpServer (http_server.h): reads and parses its requests (Boost.Beast), hands
// each to the handler with a responder, sends the response, and watches the socket while the handler works.
// Internal to the server: http_session.cc (the connection's life), http_session_body.cc (a streamed
// upload's body, HttpBodyStream).
#ifndef MARKETLENS_SERVICES_GATEWAY_HTTP_SESSION_H_
#define MARKETLENS_SERVICES_GATEWAY_HTTP_SESSION_H_

// clang-format off
#include <utility>  // before Boost.Asio: its headers use std::exchange without including it
// clang-format on

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/gateway/http_server.h"
#include "services/gateway/http_server_impl.h"

namespace marketlens::gateway {

// absl::Duration as the steady clock's duration (Asio's timers and deadlines).
inline std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(absl::ToChronoNanoseconds(d));
}

// One connection. Everything runs on its worker's thread except Respond(), which runs on the thread of
// whoever answers (a gRPC completion in the gateway).
//
// While the handler works on a request, the session already reads the socket for the next one (the
// "read-ahead"): EOF or an error there means the client went away (the request's ClientDisconnect fires);
// data is a pipelined request, parsed after the response. The response is sent by Respond() at once, on
// the answering thread, with a non-blocking send; only what the socket does not take is left to an
// asynchronous write on the session's thread. So an answered request costs no hop back to the server
// thread, and the next request is picked up by the read already pending. State shared with Respond() is
// guarded by `mu_`; the socket is closed only under it, so Respond() never sends on a closed descriptor.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
  // What the responder of a request holds: the session until it is called (so that a copy outliving the
  // call, in a gRPC callback's state, does not keep the session and its socket alive).
  struct Pending {
    absl::Mutex mu;
    std::shared_ptr<HttpSession> session ABSL_GUARDED_BY(mu);
    std::shared_ptr<ClientDisconnect> watch;
    bool keep_alive = true;
    bool streamed = false;  // the body is read by the handler (HttpBodyStream)
  };

  enum class State {
    kIdle,     // between requests: the read is pending, or a buffered request waits for Continue()
    kReading,  // a request is being read and parsed
    kBusy,     // the handler has the request
    kWriting,  // the rest of the response is being written asynchronously
    kClosed,
  };

 public:
  HttpSession(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server);
  ~HttpSession() { server_->connections_.fetch_sub(1); }

  void Start();

 private:
  const HttpServerOptions& options() const { return server_->options_; }

  // The idle timeout without a timer operation per request: one timer per connection that, when it fires,
  // closes the connection if it has been idle long enough, and otherwise sets itself for the rest.
  void ArmIdleTimer(std::chrono::steady_clock::duration after);

  void OnIdleTimer();

  // Waits for the first byte of the next request (state kIdle, nothing buffered).
  void WaitForRequest();

  // The session's one socket read: for the next request while idle, and the read-ahead while busy.
  void StartRead();

  void OnRead(beast::error_code ec, std::size_t n);

  // Parses a request from the buffer (state kReading).
  void BeginRequest();

  void OnHeader(beast::error_code ec);

  // Paths of HttpServerOptions::upload_paths may send bodies up to upload_max_body_bytes, within
  // upload_request_timeout; others max_body_bytes. False when the Content-Length is over the path's limit.
  bool ApplyPathLimits();

  // Sets body_limit_ from the request's path.
  bool IsUploadPath();

  void ReadBody();

  void OnReadError(beast::error_code ec);

  void ProtocolError(int status, absl::string_view reason);

  void RefuseAndClose(int status, const std::string& message);

  // The request line and headers of a parsed request.
  template <typename Message>
  HttpRequest RequestHead(const Message& req) {
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    const size_t q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    // A fragment never reaches a server, but be safe.
    if (const size_t hash = r.query.find('#'); hash != std::string::npos) r.query.resize(hash);
    r.headers.reserve(std::distance(req.begin(), req.end()));
    for (const auto& field : req) {
      r.headers.emplace_back(
          absl::AsciiStrToLower(absl::string_view(field.name_string().data(), field.name_string().size())),
          std::string(field.value()));
    }
    r.remote_address = remote_;
    r.version = req.version();
    r.keep_alive = req.keep_alive();
    r.started_at = started_at_;
    return r;
  }

  void OnRequest();

  // An upload whose body is streamed: the handler gets the head now and reads the body through
  // r.body_stream (ReadPiece on this thread). No read-ahead until the body's end: the socket is the body's.
  void OnStreamedRequest();

  // Hands a request to the handler with its responder (state kBusy).
  void Dispatch(HttpRequest r, bool streamed);

  // The HttpBodyStream of a streamed request (http_session_body.cc).
  class SessionBodyStream;

  // On the session's thread: the next piece of a streamed body (see HttpBodyStream::Read).
  void ReadPiece(size_t max_bytes, HttpBodyStream::ReadDone done);

  void SetBodyReadPending(bool pending);

  void DeliverPiece(HttpBodyStream::ReadDone done);

  // The body was read to its end: the connection is watched again (read-ahead) while the handler works.
  void EndBody(HttpBodyStream::ReadDone done);

  void BodyFailed(beast::error_code ec, HttpBodyStream::ReadDone done);

  // Any thread, once per request. True when the response is done with (sent, or dropped); false when the rest
  // of it is left to WriteRest(), which counts it done.
  bool Respond(HttpResponse response, const Pending& pending);

  // On the session's thread: writes what Respond() could not send at once (or a refusal).
  void WriteRest(std::shared_ptr<std::string> bytes, bool counted, bool keep);

  // After a response, with no read pending: parses the buffered request, or waits for one.
  void Continue();

  // After a response that ends the connection. When it answered a streamed upload before the body's end,
  // the client may still be sending: closing a socket with unread data resets the connection, and the
  // client could lose the answer. So the write side is shut (the client sees the answer and the end) and
  // the rest is read and dropped until the client closes, for at most a few seconds ("lingering close").
  void CloseAfterResponse();

  void Drain();

  void Close();

  beast::tcp_stream stream_;
  net::steady_timer idle_timer_;
  std::shared_ptr<HttpServer::Impl> server_;
  int fd_ = -1;  // the socket's descriptor, for Respond()'s send
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::chrono::steady_clock::time_point request_deadline_;
  size_t body_limit_ = 0;
  bool upload_ = false;  // the request's path is an upload path
  // A streamed request's body (OnStreamedRequest), read on this thread only.
  std::optional<http::request_parser<http::buffer_body>> stream_parser_;
  std::string piece_;  // the piece being read
  bool expect_continue_ = false;
  absl::Status body_error_;
  std::string drain_;  // what a lingering close reads and drops
  absl::Time started_at_;
  std::string remote_;

  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  bool read_pending_ ABSL_GUARDED_BY(mu_) = false;
  // The read-ahead got EOF or an error while the handler worked: the client went away.
  bool peer_gone_ ABSL_GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point idle_since_ ABSL_GUARDED_BY(mu_);
  // A streamed request's body is not read to its end: its response closes the connection.
  bool body_open_ ABSL_GUARDED_BY(mu_) = false;
  bool body_read_pending_ ABSL_GUARDED_BY(mu_) = false;  // a socket operation of a body Read
  bool linger_ ABSL_GUARDED_BY(mu_) = false;             // its response came first: drain before closing
  // The ClientDisconnect of the request with the handler (null otherwise).
  std::shared_ptr<ClientDisconnect> watch_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_HTTP_SESSION_H_
