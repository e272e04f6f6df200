#include "services/gateway/http_server.h"

#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
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

namespace {

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(absl::ToChronoNanoseconds(d));
}

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        ioc_(std::make_unique<net::io_context>(std::max(1, options_.threads))),
        acceptor_(std::make_unique<tcp::acceptor>(net::make_strand(*ioc_))) {}

  // After Stop(): destroys the sessions still queued (closing their sockets), the acceptor and the
  // io_context. Sessions hold the Impl, so without this the two would keep each other alive.
  void Destroy() {
    if (in_flight_.load() > 0) {
      // A handler never answered (or answered after the stop): its responder may still touch a session of
      // this io_context, so the io_context must outlive it. Leak it rather than crash later.
      logging::Error("http server stopped with requests in flight; leaking its io_context",
                     {{"in_flight", static_cast<long long>(in_flight_.load())}});
      (void)acceptor_.release();
      (void)ioc_.release();
      return;
    }
    acceptor_.reset();
    ioc_.reset();
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
    // Keeps the threads running while no socket operation is pending (all requests are with the handler).
    work_.emplace(net::make_work_guard(*ioc_));
    Accept();
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] { ioc_->run(); });
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
      work_.reset();
      ioc_->stop();
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  // Posts `fn` to `executor` unless the io_context was stopped (then `fn` is dropped unrun).
  template <typename Executor, typename Fn>
  void SafePost(const Executor& executor, Fn&& fn) {
    absl::MutexLock lock(&post_mu_);
    if (ioc_stopped_) return;
    net::post(executor, std::forward<Fn>(fn));
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

  std::unique_ptr<net::io_context> ioc_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
  struct Pending {
    absl::Mutex mu;
    std::shared_ptr<Session> session;
  };

 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    server_->connections_.fetch_add(1);
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
  }
  ~Session() { server_->connections_.fetch_sub(1); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
  }

 private:
  const HttpServerOptions& options() const { return server_->options_; }

  void WaitForRequest() {
    if (server_->stopping_.load()) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    if (buffer_.size() > 0) return BeginRequest();  // a pipelined request is already here
    stream_.expires_after(Chrono(options().idle_timeout));
    stream_.async_read_some(buffer_.prepare(8192),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->Close();  // idle timeout, or the client went away
                              self->buffer_.commit(n);
                              self->BeginRequest();
                            });
  }

  void BeginRequest() {
    started_at_ = absl::Now();
    request_deadline_ = std::chrono::steady_clock::now() + Chrono(options().request_timeout);
    stream_.expires_at(request_deadline_);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return OnRequest();
    const auto& req = parser_->get();
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
      // The client waits for our go-ahead before sending the body (its size already passed the limit).
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
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
      return RefuseAndClose(413,
                            absl::StrCat("the request body exceeds ", options().max_body_bytes, " bytes"));
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
    r.close = true;
    keep_alive_ = false;
    Write(std::move(r), /*counted=*/false);
  }

  void OnRequest() {
    http::request<http::string_body> req = parser_->release();
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
    r.body = std::move(req.body());
    r.remote_address = remote_;
    r.version = req.version();
    r.keep_alive = req.keep_alive();
    r.started_at = started_at_;
    keep_alive_ = r.keep_alive;
    watch_ = std::make_shared<ClientDisconnect>();
    r.disconnect = watch_;
    WatchForDisconnect(watch_);

    server_->in_flight_.fetch_add(1);
    // The responder holds the session only until it is called, so that a copy of it outliving the call (in
    // a gRPC callback's state) does not keep the session (and its socket) alive.
    auto pending = std::make_shared<Pending>();
    pending->session = shared_from_this();
    Responder respond = [pending](HttpResponse response) {
      std::shared_ptr<Session> self;
      {
        absl::MutexLock lock(&pending->mu);
        self = std::move(pending->session);
      }
      if (self == nullptr) return;  // answered before
      HttpServer::Impl* server = self->server_.get();
      server->SafePost(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response), /*counted=*/true);
      });
    };
    server_->handler_(std::move(r), std::move(respond));
  }

  // While the handler works, nothing reads the socket: wait for it to become readable. EOF or an error
  // then means the client went away; data means a pipelined request (read after this response), and the
  // watch ends there. Runs on the session's strand.
  void WatchForDisconnect(const std::shared_ptr<ClientDisconnect>& watch) {
    stream_.socket().async_wait(
        tcp::socket::wait_read, [self = shared_from_this(), watch](beast::error_code ec) {
          if (self->watch_ != watch) return;  // the response is being written (or was)
          if (ec) {
            if (ec == net::error::operation_aborted) return;
            return watch->Fire();
          }
          char c;
          const ssize_t n = ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n > 0) return;  // a pipelined request
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return self->WatchForDisconnect(watch);
          }
          watch->Fire();  // 0: the client closed its side; < 0: reset
        });
  }

  void Write(HttpResponse response, bool counted) {
    if (watch_ != nullptr) {
      // Ends the watch: its wait is the only operation pending on the socket now.
      watch_->Detach();
      watch_.reset();
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    res->reason(
        beast::string_view(ReasonPhrase(response.status).data(), ReasonPhrase(response.status).size()));
    res->set(http::field::server, "marketlens-gateway");
    for (auto& [k, v] : response.headers) res->insert(k, v);
    res->body() = std::move(response.body);
    const bool keep = keep_alive_ && !response.close && !server_->stopping_.load();
    res->keep_alive(keep);
    res->prepare_payload();
    stream_.expires_after(Chrono(options().write_timeout));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep, counted](beast::error_code ec, std::size_t) {
                        if (counted) self->server_->in_flight_.fetch_sub(1);
                        if (ec) return self->Close();
                        if (!keep) return self->Close();
                        self->WaitForRequest();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::Impl> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::chrono::steady_clock::time_point request_deadline_;
  absl::Time started_at_;
  std::string remote_;
  bool keep_alive_ = true;
  // The ClientDisconnect of the request with the handler (null otherwise).
  std::shared_ptr<ClientDisconnect> watch_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor_->async_accept(net::make_strand(*ioc_),
                          [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
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
