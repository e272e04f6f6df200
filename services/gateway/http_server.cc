#include "services/gateway/http_server.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
#include "services/gateway/http_server_impl.h"
#include "services/gateway/http_session.h"

namespace marketlens::gateway {

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

void HttpServer::Impl::Destroy() {
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

absl::Status HttpServer::Impl::Listen() {
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

void HttpServer::Impl::Run() {
  // Keeps the threads running while no socket operation is pending.
  for (auto& w : workers_) work_.push_back(net::make_work_guard(w->ioc));
  Accept();
  for (auto& w : workers_) {
    threads_.emplace_back([ioc = &w->ioc] { ioc->run(); });
  }
}

void HttpServer::Impl::Stop(absl::Duration drain) {
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
        std::make_shared<HttpSession>(std::move(socket), self)->Start();
      }
    }
    self->Accept();
  });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              HttpHandler handler) {
  auto impl = std::make_shared<Impl>(std::move(options), std::move(handler));
  RETURN_IF_ERROR(impl->Listen());
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
