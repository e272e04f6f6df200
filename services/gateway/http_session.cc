#include "services/gateway/http_session.h"

#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/gateway/api_error.h"
#include "services/gateway/http_response_writer.h"

namespace marketlens::gateway {

HttpSession::HttpSession(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
    : stream_(std::move(socket)), idle_timer_(stream_.get_executor()), server_(std::move(server)) {
  server_->connections_.fetch_add(1);
  beast::error_code ec;
  const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
  fd_ = stream_.socket().native_handle();
}

void HttpSession::Start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    {
      absl::MutexLock lock(&self->mu_);
      self->idle_since_ = std::chrono::steady_clock::now();
    }
    self->ArmIdleTimer(Chrono(self->options().idle_timeout));
    self->WaitForRequest();
  });
}

void HttpSession::ArmIdleTimer(std::chrono::steady_clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;  // cancelled: closed
    self->OnIdleTimer();
  });
}

void HttpSession::OnIdleTimer() {
  const auto idle_timeout = Chrono(options().idle_timeout);
  const auto now = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration next = idle_timeout;
  bool close = false;
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kClosed) return;
    if (state_ == State::kIdle && read_pending_) {
      close = now - idle_since_ >= idle_timeout;
      next = idle_since_ + idle_timeout - now;
    } else if (state_ == State::kBusy && peer_gone_) {
      // The client left and the handler has not answered within an idle timeout: give up on it.
      close = true;
    }
  }
  if (close) return Close();
  ArmIdleTimer(next);
}

void HttpSession::WaitForRequest() {
  if (server_->stopping_.load()) return Close();
  StartRead();
}

void HttpSession::StartRead() {
  {
    absl::MutexLock lock(&mu_);
    read_pending_ = true;
  }
  stream_.socket().async_read_some(
      buffer_.prepare(8192),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->OnRead(ec, n); });
}

void HttpSession::OnRead(beast::error_code ec, std::size_t n) {
  enum { kNothing, kBegin, kClose, kFire } action = kNothing;
  std::shared_ptr<ClientDisconnect> gone;
  {
    absl::MutexLock lock(&mu_);
    read_pending_ = false;
    if (state_ == State::kClosed) return;
    if (!ec) buffer_.commit(n);
    if (state_ == State::kIdle) {
      // The next request begins, or the client closed (or reset) the idle connection.
      action = ec ? kClose : kBegin;
      if (!ec) state_ = State::kReading;
    } else if (ec) {
      // While the handler works (or the response is written): the client went away. The answer (or the
      // end of the write) closes the connection.
      peer_gone_ = true;
      if (state_ == State::kBusy && watch_ != nullptr) {
        gone = watch_;
        action = kFire;
      }
    }
    // Else data while the handler works: a pipelined request, left in the buffer until the response is out
    // (Respond() then has Continue() parse it).
  }
  switch (action) {
    case kBegin:
      return BeginRequest();
    case kClose:
      return Close();
    case kFire:
      return gone->Fire();  // outside the lock: the handler may answer from its callback
    case kNothing:
      return;
  }
}

void HttpSession::BeginRequest() {
  if (server_->stopping_.load()) return Close();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
  // Beast checks a Content-Length against the limit as soon as the header is parsed: allow uploads' size
  // until the path is known (ApplyPathLimits sets the path's own limit).
  parser_->body_limit(options().upload_paths.empty()
                          ? options().max_body_bytes
                          : std::max(options().max_body_bytes, options().upload_max_body_bytes));
  started_at_ = absl::Now();
  request_deadline_ = std::chrono::steady_clock::now() + Chrono(options().request_timeout);
  body_limit_ = options().max_body_bytes;
  // Usually the whole request is in the buffer already: parse it here, without an asynchronous read.
  while (buffer_.size() > 0 && !parser_->is_done()) {
    beast::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec && ec != http::error::need_more) return OnReadError(ec);
    if (parser_->is_header_done()) break;  // the body's limit depends on the path (uploads)
    if (used == 0) break;                  // needs more than the buffer holds
  }
  if (parser_->is_header_done()) return OnHeader({});
  stream_.expires_at(request_deadline_);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  if (!ApplyPathLimits()) {
    return RefuseAndClose(413, absl::StrCat("the request body exceeds ", body_limit_, " bytes"));
  }
  if (upload_ && options().stream_uploads && !parser_->is_done()) return OnStreamedRequest();
  // The rest of the body already in the buffer.
  while (buffer_.size() > 0 && !parser_->is_done()) {
    beast::error_code put_ec;
    const std::size_t used = parser_->put(buffer_.data(), put_ec);
    buffer_.consume(used);
    if (put_ec && put_ec != http::error::need_more) return OnReadError(put_ec);
    if (used == 0) break;
  }
  if (parser_->is_done()) return OnRequest();
  const auto& req = parser_->get();
  auto expect = req.find(http::field::expect);
  if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
    // The client waits for our go-ahead before sending the body (its size already passed the limit).
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_at(request_deadline_);
    net::async_write(stream_, net::buffer(kContinue),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->Close();
                       self->ReadBody();
                     });
    return;
  }
  ReadBody();
}

bool HttpSession::ApplyPathLimits() {
  const bool upload = IsUploadPath();
  upload_ = upload;
  if (upload) request_deadline_ = std::chrono::steady_clock::now() + Chrono(options().upload_request_timeout);
  const auto length = parser_->content_length();
  if (length.has_value() && *length > body_limit_) return false;
  parser_->body_limit(body_limit_);
  return true;
}

bool HttpSession::IsUploadPath() {
  const auto target = parser_->get().target();
  const absl::string_view path(target.data(), target.size());
  bool upload = false;
  for (const std::string& prefix : options().upload_paths) upload |= absl::StartsWith(path, prefix);
  body_limit_ = upload ? options().upload_max_body_bytes : options().max_body_bytes;
  return upload;
}

void HttpSession::ReadBody() {
  stream_.expires_at(request_deadline_);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     if (ec) return self->OnReadError(ec);
                     self->OnRequest();
                   });
}

void HttpSession::OnReadError(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
      ec == http::error::partial_message || ec == net::error::operation_aborted) {
    return Close();
  }
  if (ec == beast::error::timeout) {
    // The stream is already closed: nothing can be sent.
    ProtocolError(408, "request not received in time");
    return Close();
  }
  if (ec == http::error::body_limit) {
    IsUploadPath();  // the limit of this request's path (the request line is parsed by now)
    return RefuseAndClose(413, absl::StrCat("the request body exceeds ", body_limit_, " bytes"));
  }
  if (ec == http::error::header_limit) {
    return RefuseAndClose(431,
                          absl::StrCat("the request headers exceed ", options().max_header_bytes, " bytes"));
  }
  RefuseAndClose(400, absl::StrCat("malformed HTTP request: ", ec.message()));
}

void HttpSession::ProtocolError(int status, absl::string_view reason) {
  if (options().on_protocol_error) options().on_protocol_error(status, reason, remote_);
}

void HttpSession::RefuseAndClose(int status, const std::string& message) {
  ProtocolError(status, message);
  ApiError e = MakeError(
      status == 400 ? absl::StatusCode::kInvalidArgument : absl::StatusCode::kResourceExhausted, message);
  e.http_status = status;
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = ErrorBodyJson(e);
  auto bytes = std::make_shared<std::string>(ResponseHead(r, /*keep_alive=*/false));
  bytes->append(r.body);
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kWriting;
  }
  WriteRest(std::move(bytes), /*counted=*/false, /*keep=*/false);
}

void HttpSession::OnRequest() {
  http::request<http::string_body> req = parser_->release();
  parser_.reset();
  HttpRequest r = RequestHead(req);
  r.body = std::move(req.body());
  Dispatch(std::move(r), /*streamed=*/false);
}

void HttpSession::Dispatch(HttpRequest r, bool streamed) {
  auto watch = std::make_shared<ClientDisconnect>();
  r.disconnect = watch;

  auto pending = std::make_shared<Pending>();
  pending->watch = watch;
  pending->keep_alive = r.keep_alive;
  pending->streamed = streamed;
  {
    absl::MutexLock lock(&pending->mu);
    pending->session = shared_from_this();
  }
  bool read_ahead;
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kBusy;
    watch_ = watch;
    peer_gone_ = false;
    body_open_ = streamed;
    // With a pipelined request already buffered there is nothing to watch (the client is there). A
    // streamed body is read by the handler; the read-ahead starts at its end.
    read_ahead = !streamed && buffer_.size() == 0;
  }
  if (read_ahead) StartRead();
  server_->in_flight_.fetch_add(1);
  Responder respond = [pending](HttpResponse response) {
    std::shared_ptr<HttpSession> self;
    {
      absl::MutexLock lock(&pending->mu);
      self = std::move(pending->session);
    }
    if (self == nullptr) return;  // answered before
    const std::shared_ptr<HttpServer::Impl> server = self->server_;
    const bool done = self->Respond(std::move(response), *pending);
    // The session goes before the count does: Stop() destroys the io_contexts once nothing is in flight,
    // and a session must not outlive its io_context.
    self.reset();
    if (done) server->in_flight_.fetch_sub(1);
  };
  server_->handler_(std::move(r), std::move(respond));
}

bool HttpSession::Respond(HttpResponse response, const Pending& pending) {
  pending.watch->Detach();
  bool keep = pending.keep_alive && !response.close && !server_->stopping_.load();
  if (pending.streamed) {
    absl::MutexLock lock(&mu_);
    if (body_open_) {
      // The rest of an unread body cannot be told from the next request: the connection ends, after
      // the body is drained (CloseAfterResponse).
      keep = false;
      linger_ = true;
    }
  }
  const std::string head = ResponseHead(response, keep);
  const bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
  const absl::string_view body = bodiless ? absl::string_view() : absl::string_view(response.body);
  std::size_t sent = 0;
  bool failed = false, post_close = false, post_continue = false;
  {
    absl::MutexLock lock(&mu_);
    watch_.reset();
    if (state_ == State::kClosed) return true;
    sent = SendWithoutBlocking(fd_, head, body, &failed);
    if (failed || sent == head.size() + body.size()) {
      if (failed || !keep || peer_gone_) {
        post_close = true;
      } else {
        state_ = State::kIdle;
        idle_since_ = std::chrono::steady_clock::now();
        // Without a read pending, the next request is buffered already (or must be waited for).
        post_continue = !read_pending_;
      }
    } else {
      state_ = State::kWriting;
    }
  }
  HttpServer::Impl* server = server_.get();
  if (failed || sent == head.size() + body.size()) {
    if (post_close) {
      server->SafePost(stream_.get_executor(), [self = shared_from_this()] { self->CloseAfterResponse(); });
    } else if (post_continue) {
      server->SafePost(stream_.get_executor(), [self = shared_from_this()] { self->Continue(); });
    }
    return true;
  }
  // The socket's buffer is full (a big body or a slow reader): the rest is written asynchronously.
  auto rest = std::make_shared<std::string>();
  if (sent < head.size()) {
    rest->reserve(head.size() - sent + body.size());
    rest->append(head, sent);
    rest->append(body.data(), body.size());
  } else {
    const absl::string_view left = body.substr(sent - head.size());
    rest->assign(left.data(), left.size());
  }
  server->SafePost(stream_.get_executor(), [self = shared_from_this(), rest = std::move(rest), keep] {
    self->WriteRest(rest, /*counted=*/true, keep);
  });
  return false;
}

void HttpSession::WriteRest(std::shared_ptr<std::string> bytes, bool counted, bool keep) {
  stream_.expires_after(Chrono(options().write_timeout));
  net::async_write(stream_, net::buffer(*bytes),
                   [self = shared_from_this(), bytes, counted, keep](beast::error_code ec, std::size_t) {
                     if (counted) self->server_->in_flight_.fetch_sub(1);
                     bool close = false, read_pending = false;
                     {
                       absl::MutexLock lock(&self->mu_);
                       if (self->state_ == State::kClosed) return;
                       close = ec || !keep || self->peer_gone_;
                       if (!close) {
                         self->state_ = State::kIdle;
                         self->idle_since_ = std::chrono::steady_clock::now();
                         read_pending = self->read_pending_;
                       }
                     }
                     if (close) return ec ? self->Close() : self->CloseAfterResponse();
                     if (!read_pending) self->Continue();
                   });
}

void HttpSession::Continue() {
  {
    absl::MutexLock lock(&mu_);
    if (state_ != State::kIdle || read_pending_) return;
    if (buffer_.size() > 0) state_ = State::kReading;
  }
  if (buffer_.size() > 0) return BeginRequest();
  WaitForRequest();
}

void HttpSession::CloseAfterResponse() {
  bool linger = false;
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kClosed) return;
    linger = linger_ && !peer_gone_ && !body_read_pending_;
    linger_ = false;
    if (linger) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }
  if (!linger) return Close();
  stream_parser_.reset();
  buffer_.clear();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  stream_.expires_at(std::min(until, request_deadline_));
  Drain();
}

void HttpSession::Drain() {
  drain_.resize(64 << 10);
  stream_.async_read_some(net::buffer(drain_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->Close();  // the client's end, or the time is up
                            self->Drain();
                          });
}

void HttpSession::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }
  idle_timer_.cancel();
}
}  // namespace marketlens::gateway
