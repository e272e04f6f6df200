// A streamed upload's body (HttpServerOptions::stream_uploads): HttpBodyStream over the connection, read
// piece by piece on the session's thread only while the handler asks for more.
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/gateway/api_error.h"
#include "services/gateway/http_session.h"

namespace marketlens::gateway {

absl::StatusOr<std::string> HttpBodyStream::ReadBlocking(size_t max_bytes, absl::Duration wait) {
  struct Shared {
    absl::Mutex mu;
    std::optional<absl::StatusOr<std::string>> piece ABSL_GUARDED_BY(mu);
  };
  auto shared = std::make_shared<Shared>();
  Read(max_bytes, [shared](absl::StatusOr<std::string> piece) {
    absl::MutexLock lock(&shared->mu);
    shared->piece = std::move(piece);
  });
  absl::MutexLock lock(&shared->mu);
  auto ready = [&shared]() ABSL_SHARED_LOCKS_REQUIRED(shared->mu) { return shared->piece.has_value(); };
  if (!shared->mu.AwaitWithTimeout(absl::Condition(&ready), wait)) {
    return absl::DeadlineExceededError("the request body did not arrive in time");
  }
  return *std::move(shared->piece);
}

ApiError BodyStreamError(const absl::Status& status) {
  ApiError e = MakeError(status.code(), status.message(), "body");
  switch (status.code()) {
    case absl::StatusCode::kResourceExhausted:
      e.http_status = 413;
      break;
    case absl::StatusCode::kDeadlineExceeded:
      e.http_status = 408;
      break;
    case absl::StatusCode::kInvalidArgument:
      e.http_status = 400;
      break;
    default:
      break;
  }
  return e;
}

// The HttpBodyStream of a streamed request: Read() runs ReadPiece on the session's thread.
class HttpSession::SessionBodyStream : public HttpBodyStream {
 public:
  explicit SessionBodyStream(const std::shared_ptr<HttpSession>& session)
      : session_(session), server_(session->server_) {}
  void Read(size_t max_bytes, ReadDone done) override {
    std::shared_ptr<HttpSession> s = session_.lock();
    if (s == nullptr) return done(absl::CancelledError("the connection is closed"));
    auto shared_done = std::make_shared<ReadDone>(std::move(done));
    const bool posted = server_->SafePost(s->stream_.get_executor(), [s, max_bytes, shared_done] {
      s->ReadPiece(std::max<size_t>(1, max_bytes), std::move(*shared_done));
    });
    if (!posted) (*shared_done)(absl::CancelledError("the server is stopping"));
  }

 private:
  std::weak_ptr<HttpSession> session_;
  std::shared_ptr<HttpServer::Impl> server_;
};

void HttpSession::OnStreamedRequest() {
  stream_parser_.emplace(std::move(*parser_));
  parser_.reset();
  stream_parser_->body_limit(body_limit_);
  const auto& req = stream_parser_->get();
  auto expect = req.find(http::field::expect);
  // "100 Continue" goes out with the first Read: a request the handler refuses never gets its body sent.
  expect_continue_ = expect != req.end() && beast::iequals(expect->value(), "100-continue");
  body_error_ = absl::OkStatus();
  HttpRequest r = RequestHead(req);
  r.body_stream = std::make_shared<SessionBodyStream>(shared_from_this());
  Dispatch(std::move(r), /*streamed=*/true);
}

void HttpSession::ReadPiece(size_t max_bytes, HttpBodyStream::ReadDone done) {
  if (!body_error_.ok()) return done(body_error_);
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kClosed) return done(absl::CancelledError("the connection is closed"));
  }
  if (!stream_parser_.has_value()) return done(std::string());  // read to its end before
  if (stream_parser_->is_done()) return EndBody(std::move(done));
  if (expect_continue_) {
    expect_continue_ = false;
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_at(request_deadline_);
    SetBodyReadPending(true);
    net::async_write(stream_, net::buffer(kContinue),
                     [self = shared_from_this(), max_bytes, done = std::move(done)](beast::error_code ec,
                                                                                    std::size_t) mutable {
                       self->SetBodyReadPending(false);
                       if (ec) return self->BodyFailed(ec, std::move(done));
                       self->ReadPiece(max_bytes, std::move(done));
                     });
    return;
  }
  piece_.resize(max_bytes);
  auto& body = stream_parser_->get().body();
  body.data = piece_.data();
  body.size = piece_.size();
  body.more = true;
  // What the buffer holds already (read with the head, or past the previous piece).
  while (buffer_.size() > 0 && !stream_parser_->is_done() && body.size > 0) {
    beast::error_code ec;
    const std::size_t used = stream_parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_buffer) break;
    if (ec && ec != http::error::need_more) return BodyFailed(ec, std::move(done));
    if (used == 0) break;
  }
  if (body.size < max_bytes || stream_parser_->is_done()) return DeliverPiece(std::move(done));
  stream_.expires_at(request_deadline_);
  SetBodyReadPending(true);
  http::async_read_some(
      stream_, buffer_, *stream_parser_,
      [self = shared_from_this(), max_bytes, done = std::move(done)](beast::error_code ec,
                                                                     std::size_t) mutable {
        self->SetBodyReadPending(false);
        if (ec && ec != http::error::need_buffer) return self->BodyFailed(ec, std::move(done));
        if (self->stream_parser_->get().body().size == max_bytes && !self->stream_parser_->is_done()) {
          return self->ReadPiece(max_bytes, std::move(done));  // framing only (a chunk header)
        }
        self->DeliverPiece(std::move(done));
      });
}

void HttpSession::SetBodyReadPending(bool pending) {
  absl::MutexLock lock(&mu_);
  body_read_pending_ = pending;
}

void HttpSession::DeliverPiece(HttpBodyStream::ReadDone done) {
  auto& body = stream_parser_->get().body();
  const size_t got = piece_.size() - body.size;
  body.data = nullptr;
  body.size = 0;
  if (got == 0) return EndBody(std::move(done));  // is_done
  piece_.resize(got);
  std::string out = std::move(piece_);
  piece_ = std::string();
  done(std::move(out));
}

void HttpSession::EndBody(HttpBodyStream::ReadDone done) {
  stream_parser_.reset();
  bool read_ahead = false;
  {
    absl::MutexLock lock(&mu_);
    body_open_ = false;
    read_ahead = state_ == State::kBusy && !read_pending_ && buffer_.size() == 0;
  }
  if (read_ahead) StartRead();
  done(std::string());
}

void HttpSession::BodyFailed(beast::error_code ec, HttpBodyStream::ReadDone done) {
  bool close = true;
  if (ec == http::error::body_limit) {
    body_error_ = absl::ResourceExhaustedError(
        absl::StrCat("the request body exceeds ", body_limit_, " bytes (the upload limit)"));
    close = false;  // the handler answers 413 (and the connection is closed after it)
  } else if (ec == beast::error::timeout) {
    ProtocolError(408, "request body not received in time");
    body_error_ = absl::DeadlineExceededError(absl::StrCat(
        "the request body did not arrive within ", absl::FormatDuration(options().upload_request_timeout)));
  } else if (ec == http::error::end_of_stream || ec == net::error::eof ||
             ec == net::error::connection_reset || ec == http::error::partial_message ||
             ec == net::error::operation_aborted || ec == net::error::broken_pipe) {
    body_error_ = absl::CancelledError("the client went away before the end of the request body");
  } else if (ec.category() == http::make_error_code(http::error::bad_chunk).category()) {
    body_error_ = absl::InvalidArgumentError(absl::StrCat("malformed request body: ", ec.message()));
    close = false;
  } else {
    body_error_ = absl::CancelledError(absl::StrCat("reading the request body failed: ", ec.message()));
  }
  stream_parser_.reset();
  if (close) {
    std::shared_ptr<ClientDisconnect> gone;
    {
      absl::MutexLock lock(&mu_);
      peer_gone_ = true;
      gone = watch_;
    }
    Close();
    if (gone != nullptr) gone->Fire();
  }
  done(body_error_);
}
}  // namespace marketlens::gateway
