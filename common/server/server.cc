#include "common/server/server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging/grpc_request_id.h"
#include "common/logging/log.h"
#include "common/metrics/grpc_metrics.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/impl/server_initializer.h"

namespace marketlens::server {
namespace {

constexpr char kHealthService[] = "grpc.health.v1.Health";
constexpr char kReflectionService[] = "grpc.reflection.v1alpha.ServerReflection";

int Millis(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return INT32_MAX;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
}

// Captures the names of the services registered on the server (gRPC keeps them for reflection; there is no
// other public way to learn a grpc::Service's name).
class ServiceListPlugin : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceListPlugin(std::vector<std::string>* out) : out_(out) {}
  std::string name() override { return "marketlens_service_list"; }
  void InitServer(grpc::ServerInitializer*) override {}
  void Finish(grpc::ServerInitializer* si) override { *out_ = *si->GetServiceList(); }
  void ChangeArguments(const std::string&, void*) override {}

 private:
  std::vector<std::string>* out_;
};

class ServiceListOption : public grpc::ServerBuilderOption {
 public:
  explicit ServiceListOption(std::vector<std::string>* out) : out_(out) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<ServiceListPlugin>(out_));
  }

 private:
  std::vector<std::string>* out_;
};

// Why binding `address` failed, found by trying to bind it ourselves (gRPC only says it failed).
std::string BindProblem(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "address is not host:port";
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number)) return "port is not a number";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  if (const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &result);
      rc != 0) {
    return absl::StrCat("cannot resolve host \"", host, "\": ", gai_strerror(rc));
  }
  std::string problem = "unknown reason (see gRPC's log above)";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      const int err = errno;
      if (err == EADDRINUSE) {
        problem = absl::StrCat("port ", port_number, " in use");
      } else if (err == EADDRNOTAVAIL) {
        problem = absl::StrCat("address ", host, " is not on this host");
      } else if (err == EACCES) {
        problem = absl::StrCat("permission denied for port ", port_number);
      } else {
        problem = std::strerror(err);
      }
      close(fd);
      break;
    }
    close(fd);
  }
  freeaddrinfo(result);
  return problem;
}

bool IsInfrastructure(const std::string& service) {
  return service == kHealthService || service == kReflectionService;
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() {
  Shutdown();
  if (signal_listener_ != 0) internal::RemoveSignalListener(signal_listener_);
}

void Server::AddService(grpc::Service* service) {
  absl::MutexLock lock(&mu_);
  if (state_ != State::kNew) {
    logging::Error("Server::AddService after Start(); ignored", {{"server", options_.service_name}});
    return;
  }
  services_.push_back(service);
}

void Server::SetReadinessCheck(std::function<absl::Status()> check) {
  absl::MutexLock lock(&mu_);
  if (state_ != State::kNew) {
    logging::Error("Server::SetReadinessCheck after Start(); ignored", {{"server", options_.service_name}});
    return;
  }
  readiness_check_ = std::move(check);
}

absl::Status Server::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (state_ != State::kNew) return absl::FailedPreconditionError("Server::Start called twice");
  }
  auto registry = options_.registry != nullptr ? options_.registry : metrics::DefaultRegistry();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.grpc_address, grpc::InsecureServerCredentials(), &grpc_port_);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  // A second server on the same port must fail, not silently share it (gRPC sets SO_REUSEPORT otherwise).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(options_.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(options_.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Millis(options_.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, Millis(options_.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, Millis(options_.max_connection_age_grace));
  auto server_metrics = metrics::NewServerMetrics(registry);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(logging::NewServerRequestIdInterceptorFactory());
  interceptors.push_back(metrics::NewServerMetricsInterceptorFactory(server_metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::vector<std::string> registered;
  builder.SetOption(std::make_unique<ServiceListOption>(&registered));

  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.grpc_address, ": ", BindProblem(options_.grpc_address)));
  }
  for (const std::string& name : registered) {
    if (IsInfrastructure(name)) continue;
    service_names_.push_back(name);
    if (const auto* descriptor =
            google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name)) {
      server_metrics->Preinitialize(*descriptor);
    }
  }

  if (!options_.metrics_address.empty()) {
    auto exposer = metrics::MetricsExposer::Start(options_.metrics_address, registry);
    if (!exposer.ok()) {
      server_->Shutdown(std::chrono::system_clock::now());
      server_.reset();
      return exposer.status();
    }
    exposer_ = std::move(*exposer);
    metrics_port_ = exposer_->port();
  }

  absl::Status ready = readiness_check_ ? readiness_check_() : absl::OkStatus();
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kRunning;
  }
  const std::string grpc_address =
      absl::StrCat(options_.grpc_address.substr(0, options_.grpc_address.rfind(':')), ":", grpc_port_);
  logging::Info("server listening", {{"server", options_.service_name},
                                     {"grpc_address", grpc_address},
                                     {"metrics_address", exposer_ ? exposer_->address() : std::string()},
                                     {"services", absl::StrJoin(service_names_, ",")}});
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(kLivenessService, true);
  }
  SetServing(ready.ok(), ready);
  if (readiness_check_) readiness_thread_ = std::thread([this] { ReadinessLoop(); });
  return absl::OkStatus();
}

void Server::SetServing(bool serving, const absl::Status& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (state_ != State::kRunning) return;  // draining: stays NOT_SERVING
    const bool changed = !serving_reported_ || serving_ != serving;
    serving_reported_ = true;
    serving_ = serving;
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    if (health != nullptr) {
      health->SetServingStatus("", serving);
      for (const std::string& name : service_names_) health->SetServingStatus(name, serving);
    }
    if (!changed) return;
  }
  if (serving) {
    logging::Info("serving", {{"server", options_.service_name}});
  } else {
    logging::Warn("not serving: readiness check failed",
                  {{"server", options_.service_name}, {"error", reason}});
  }
}

void Server::ReadinessLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_readiness_), options_.readiness_interval)) return;
    }
    const absl::Status ready = readiness_check_();
    SetServing(ready.ok(), ready);
  }
}

int Server::WaitForShutdownSignal() {
  InstallShutdownSignalHandling();
  if (signal_listener_ == 0) {
    signal_listener_ = internal::AddSignalListener([this](int signal) {
      absl::MutexLock lock(&mu_);
      if (signal_ == 0) signal_ = signal;
    });
  }
  int signal = 0;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Server::WakeWaiter));
    signal = signal_;
  }
  Shutdown();
  return signal;
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kNew) {
      state_ = State::kStopped;
      return;
    }
    if (state_ != State::kRunning) {
      // Someone else is draining: wait for them.
      mu_.Await(absl::Condition(
          +[](State* s) { return *s == State::kStopped; }, &state_));
      return;
    }
    state_ = State::kDraining;
    stop_readiness_ = true;
    serving_ = false;
  }
  const absl::Time start = absl::Now();
  logging::Info("shutting down", {{"server", options_.service_name},
                                  {"drain_timeout_ms", absl::ToInt64Milliseconds(options_.drain_timeout)},
                                  {"lame_duck_ms", absl::ToInt64Milliseconds(options_.lame_duck)}});
  if (readiness_thread_.joinable()) readiness_thread_.join();
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(false);  // "" and every service
  }
  if (options_.lame_duck > absl::ZeroDuration()) absl::SleepFor(options_.lame_duck);

  const absl::Time deadline = absl::Now() + options_.drain_timeout;
  server_->Shutdown(absl::ToChronoTime(deadline));  // returns when calls are done or cancelled
  server_->Wait();
  const bool forced = absl::Now() >= deadline;
  exposer_.reset();
  const int64_t elapsed_ms = absl::ToInt64Milliseconds(absl::Now() - start);
  if (forced) {
    logging::Warn("drained: drain timeout passed, remaining calls were cancelled",
                  {{"server", options_.service_name}, {"elapsed_ms", elapsed_ms}});
  } else {
    logging::Info("drained", {{"server", options_.service_name}, {"elapsed_ms", elapsed_ms}});
  }
  absl::MutexLock lock(&mu_);
  state_ = State::kStopped;
}

std::vector<std::string> Server::service_names() const { return service_names_; }

bool Server::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

}  // namespace marketlens::server
