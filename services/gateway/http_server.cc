#include "services/gateway/http_server.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"
#include "services/gateway/api_error.h"

namespace marketlens::gateway {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

void ClientDisconnect::OnDisconnect(std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (detached_) return;
    if (!fired_) {
      fn_ = std::move(fn);
      return;
    }
  }
  fn();
}

bool ClientDisconnect::disconnected() const {
  absl::MutexLock lock(&mu_);
  return fired_;
}

void ClientDisconnect::Fire() {
  std::function<void()> fn;
  {
    absl::MutexLock lock(&mu_);
    if (fired_ || detached_) return;
    fired_ = true;
    fn = std::move(fn_);
    fn_ = nullptr;
  }
  if (fn) fn();
}

void ClientDisconnect::Detach() {
  std::function<void()> fn;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  detached_ = true;
  fn = std::move(fn_);
  fn_ = nullptr;
}

absl::string_view HttpRequest::Header(absl::string_view lowercase_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lowercase_name) return v;
  }
  return {};
}

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

namespace {

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(absl::ToChronoNanoseconds(d));
}

// The status line and headers of a response (HTTP/1.1; the body goes after them as is). Content-Length and
// Connection are the server's: the handler's are dropped.
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

class Session;

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  // One thread and its own io_context (concurrency hint 1) per worker. A connection lives on one worker for
  // its whole life, so its handlers are serialised without a strand, and a completion never wakes another
  // server thread: with one shared io_context, every operation that completed at once (a read that found
  // data, a write that went through) was handed to another, idle thread: a wake-up and a thread hop.
  struct Worker {
    Worker() : ioc(1) {}
    net::io_context ioc;
  };

  Impl(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {
    for (int i = 0; i < std::max(1, options_.threads); ++i) workers_.push_back(std::make_unique<Worker>());
    acceptor_ = std::make_unique<tcp::acceptor>(workers_[0]->ioc);
  }

  // After Stop(): destroys the sessions still queued (closing their sockets), the acceptor and the
  // io_contexts. Sessions hold the Impl, so without this the two would keep each other alive.
  void Destroy() {
    if (in_flight_.load() > 0) {
      // A handler never answered (or answered after the stop): its responder may still touch a session of
      // these io_contexts, so they must outlive it. Leak them rather than crash later.
      logging::Error("http server stopped with requests in flight; leaking its io_contexts",
                     {{"in_flight", static_cast<long long>(in_flight_.load())}});
      (void)acceptor_.release();
      for (auto& w : workers_) (void)w.release();
      return;
    }
    acceptor_.reset();
    workers_.clear();
  }

  absl::Status Listen() {
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(options_.host, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("bad HTTP host \"", options_.host, "\""));
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    const std::string where = absl::StrCat(options_.host, ":", options_.port);
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", ec.message()));
    port_ = acceptor_->local_endpoint().port();
    return absl::OkStatus();
  }

  void Run() {
    // Keeps the threads running while no socket operation is pending.
    for (auto& w : workers_) work_.push_back(net::make_work_guard(w->ioc));
    Accept();
    for (auto& w : workers_) {
      threads_.emplace_back([ioc = &w->ioc] { ioc->run(); });
    }
  }

  void Stop(absl::Duration drain) {
    {
      absl::MutexLock lock(&stop_mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    stopping_.store(true);
    net::post(acceptor_->get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_->close(ec);
    });
    const absl::Time deadline = absl::Now() + drain;
    while (in_flight_.load() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    {
      absl::MutexLock lock(&post_mu_);
      ioc_stopped_ = true;
      work_.clear();
      for (auto& w : workers_) w->ioc.stop();
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  // Posts `fn` to `executor` unless the io_contexts were stopped (then `fn` is dropped unrun: false).
  template <typename Executor, typename Fn>
  bool SafePost(const Executor& executor, Fn&& fn) {
    absl::MutexLock lock(&post_mu_);
    if (ioc_stopped_) return false;
    net::post(executor, std::forward<Fn>(fn));
    return true;
  }

  void Accept();

  const HttpServerOptions options_;
  const HttpHandler handler_;
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
  int port_ = 0;

  absl::Mutex stop_mu_;
  bool stopped_ = false;
  absl::Mutex post_mu_;
  bool ioc_stopped_ ABSL_GUARDED_BY(post_mu_) = false;

  std::vector<std::unique_ptr<Worker>> workers_;
  size_t next_worker_ = 0;  // of the next connection (round robin; used by the accepting thread only)
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

namespace {

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
class Session : public std::enable_shared_from_this<Session> {
  // What the responder of a request holds: the session until it is called (so that a copy outliving the
  // call, in a gRPC callback's state, does not keep the session and its socket alive).
  struct Pending {
    absl::Mutex mu;
    std::shared_ptr<Session> session ABSL_GUARDED_BY(mu);
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
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), idle_timer_(stream_.get_executor()), server_(std::move(server)) {
    server_->connections_.fetch_add(1);
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
    fd_ = stream_.socket().native_handle();
  }
  ~Session() { server_->connections_.fetch_sub(1); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      {
        absl::MutexLock lock(&self->mu_);
        self->idle_since_ = std::chrono::steady_clock::now();
      }
      self->ArmIdleTimer(Chrono(self->options().idle_timeout));
      self->WaitForRequest();
    });
  }

 private:
  const HttpServerOptions& options() const { return server_->options_; }

  // The idle timeout without a timer operation per request: one timer per connection that, when it fires,
  // closes the connection if it has been idle long enough, and otherwise sets itself for the rest.
  void ArmIdleTimer(std::chrono::steady_clock::duration after) {
    idle_timer_.expires_after(after);
    idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: closed
      self->OnIdleTimer();
    });
  }

  void OnIdleTimer() {
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

  // Waits for the first byte of the next request (state kIdle, nothing buffered).
  void WaitForRequest() {
    if (server_->stopping_.load()) return Close();
    StartRead();
  }

  // The session's one socket read: for the next request while idle, and the read-ahead while busy.
  void StartRead() {
    {
      absl::MutexLock lock(&mu_);
      read_pending_ = true;
    }
    stream_.socket().async_read_some(
        buffer_.prepare(8192),
        [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(beast::error_code ec, std::size_t n) {
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

  // Parses a request from the buffer (state kReading).
  void BeginRequest() {
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

  void OnHeader(beast::error_code ec) {
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

  // Paths of HttpServerOptions::upload_paths may send bodies up to upload_max_body_bytes, within
  // upload_request_timeout; others max_body_bytes. False when the Content-Length is over the path's limit.
  bool ApplyPathLimits() {
    const bool upload = IsUploadPath();
    upload_ = upload;
    if (upload)
      request_deadline_ = std::chrono::steady_clock::now() + Chrono(options().upload_request_timeout);
    const auto length = parser_->content_length();
    if (length.has_value() && *length > body_limit_) return false;
    parser_->body_limit(body_limit_);
    return true;
  }

  // Sets body_limit_ from the request's path.
  bool IsUploadPath() {
    const auto target = parser_->get().target();
    const absl::string_view path(target.data(), target.size());
    bool upload = false;
    for (const std::string& prefix : options().upload_paths) upload |= absl::StartsWith(path, prefix);
    body_limit_ = upload ? options().upload_max_body_bytes : options().max_body_bytes;
    return upload;
  }

  void ReadBody() {
    stream_.expires_at(request_deadline_);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest();
                     });
  }

  void OnReadError(beast::error_code ec) {
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
      return RefuseAndClose(
          431, absl::StrCat("the request headers exceed ", options().max_header_bytes, " bytes"));
    }
    RefuseAndClose(400, absl::StrCat("malformed HTTP request: ", ec.message()));
  }

  void ProtocolError(int status, absl::string_view reason) {
    if (options().on_protocol_error) options().on_protocol_error(status, reason, remote_);
  }

  void RefuseAndClose(int status, const std::string& message) {
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

  void OnRequest() {
    http::request<http::string_body> req = parser_->release();
    parser_.reset();
    HttpRequest r = RequestHead(req);
    r.body = std::move(req.body());
    Dispatch(std::move(r), /*streamed=*/false);
  }

  // An upload whose body is streamed: the handler gets the head now and reads the body through
  // r.body_stream (ReadPiece on this thread). No read-ahead until the body's end: the socket is the body's.
  void OnStreamedRequest() {
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

  // Hands a request to the handler with its responder (state kBusy).
  void Dispatch(HttpRequest r, bool streamed) {
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
      std::shared_ptr<Session> self;
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

  // The HttpBodyStream of a streamed request: Read() runs ReadPiece on the session's thread.
  class SessionBodyStream : public HttpBodyStream {
   public:
    explicit SessionBodyStream(const std::shared_ptr<Session>& session)
        : session_(session), server_(session->server_) {}
    void Read(size_t max_bytes, ReadDone done) override {
      std::shared_ptr<Session> s = session_.lock();
      if (s == nullptr) return done(absl::CancelledError("the connection is closed"));
      auto shared_done = std::make_shared<ReadDone>(std::move(done));
      const bool posted = server_->SafePost(s->stream_.get_executor(), [s, max_bytes, shared_done] {
        s->ReadPiece(std::max<size_t>(1, max_bytes), std::move(*shared_done));
      });
      if (!posted) (*shared_done)(absl::CancelledError("the server is stopping"));
    }

   private:
    std::weak_ptr<Session> session_;
    std::shared_ptr<HttpServer::Impl> server_;
  };

  // On the session's thread: the next piece of a streamed body (see HttpBodyStream::Read).
  void ReadPiece(size_t max_bytes, HttpBodyStream::ReadDone done) {
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

  void SetBodyReadPending(bool pending) {
    absl::MutexLock lock(&mu_);
    body_read_pending_ = pending;
  }

  void DeliverPiece(HttpBodyStream::ReadDone done) {
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

  // The body was read to its end: the connection is watched again (read-ahead) while the handler works.
  void EndBody(HttpBodyStream::ReadDone done) {
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

  void BodyFailed(beast::error_code ec, HttpBodyStream::ReadDone done) {
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

  // Any thread, once per request. True when the response is done with (sent, or dropped); false when the rest
  // of it is left to WriteRest(), which counts it done.
  bool Respond(HttpResponse response, const Pending& pending) {
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
      sent = SendNow(head, body, &failed);
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

  // Sends what the socket takes without blocking; sets `failed` when the connection is broken. Under mu_ (the
  // descriptor is open).
  std::size_t SendNow(absl::string_view head, absl::string_view body, bool* failed) {
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
      const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
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

  // On the session's thread: writes what Respond() could not send at once (or a refusal).
  void WriteRest(std::shared_ptr<std::string> bytes, bool counted, bool keep) {
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

  // After a response, with no read pending: parses the buffered request, or waits for one.
  void Continue() {
    {
      absl::MutexLock lock(&mu_);
      if (state_ != State::kIdle || read_pending_) return;
      if (buffer_.size() > 0) state_ = State::kReading;
    }
    if (buffer_.size() > 0) return BeginRequest();
    WaitForRequest();
  }

  // After a response that ends the connection. When it answered a streamed upload before the body's end,
  // the client may still be sending: closing a socket with unread data resets the connection, and the
  // client could lose the answer. So the write side is shut (the client sees the answer and the end) and
  // the rest is read and dropped until the client closes, for at most a few seconds ("lingering close").
  void CloseAfterResponse() {
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

  void Drain() {
    drain_.resize(64 << 10);
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->Close();  // the client's end, or the time is up
                              self->Drain();
                            });
  }

  void Close() {
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

}  // namespace

void HttpServer::Impl::Accept() {
  Worker* w = workers_[next_worker_++ % workers_.size()].get();
  acceptor_->async_accept(w->ioc, [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || self->stopping_.load()) return;
    if (!ec) {
      if (self->connections_.load() >= self->options_.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
        if (self->options_.on_protocol_error)
          self->options_.on_protocol_error(503, "too many connections", "");
      } else {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), self)->Start();
      }
    }
    self->Accept();
  });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              HttpHandler handler) {
  auto impl = std::make_shared<Impl>(std::move(options), std::move(handler));
  if (absl::Status st = impl->Listen(); !st.ok()) return st;
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() {
  Stop(absl::Seconds(5));
  impl_->Destroy();
}

int HttpServer::port() const { return impl_->port_; }

void HttpServer::Stop(absl::Duration drain) { impl_->Stop(drain); }

int64_t HttpServer::open_connections() const { return impl_->connections_.load(); }

int64_t HttpServer::requests_in_flight() const { return impl_->in_flight_.load(); }

}  // namespace marketlens::gateway
