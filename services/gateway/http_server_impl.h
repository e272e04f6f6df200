// HttpServer::Impl (http_server.h): the listener, the worker threads and their io_contexts, the counters
// and the stop; shared by http_server.cc and the connections (http_session.h). Internal to the server.
#ifndef MARKETLENS_SERVICES_GATEWAY_HTTP_SERVER_IMPL_H_
#define MARKETLENS_SERVICES_GATEWAY_HTTP_SERVER_IMPL_H_

// clang-format off
#include <utility>  // before Boost.Asio: its headers use std::exchange without including it
// clang-format on

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/gateway/http_server.h"

namespace marketlens::gateway {

// Short names for Boost.Beast and Asio in the server's files (they include this header).
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

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
  void Destroy();

  absl::Status Listen();

  void Run();

  void Stop(absl::Duration drain);

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

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_HTTP_SERVER_IMPL_H_
