#include "common/metrics/grpc_metrics.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/interceptor.h"

namespace marketlens::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr std::array<const char*, 17> kCodeNames = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

RpcType FromServerType(grpc::experimental::ServerRpcInfo::Type type) {
  using T = grpc::experimental::ServerRpcInfo::Type;
  switch (type) {
    case T::UNARY:
      return RpcType::kUnary;
    case T::CLIENT_STREAMING:
      return RpcType::kClientStream;
    case T::SERVER_STREAMING:
      return RpcType::kServerStream;
    case T::BIDI_STREAMING:
      return RpcType::kBidiStream;
  }
  return RpcType::kUnary;
}

RpcType FromClientType(grpc::experimental::ClientRpcInfo::Type type) {
  using T = grpc::experimental::ClientRpcInfo::Type;
  switch (type) {
    case T::UNARY:
      return RpcType::kUnary;
    case T::CLIENT_STREAMING:
      return RpcType::kClientStream;
    case T::SERVER_STREAMING:
      return RpcType::kServerStream;
    case T::BIDI_STREAMING:
    case T::UNKNOWN:  // generic stubs: the type is not known; Go's generic streams count as bidi too
      return RpcType::kBidiStream;
  }
  return RpcType::kBidiStream;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One per server call. Lives (owned by grpc::ServerRpcInfo) until the call's context is destroyed.
class ServerMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  ServerMetricsInterceptor(std::shared_ptr<GrpcMetrics> metrics, std::string method, RpcType type)
      : metrics_(std::move(metrics)),
        method_(std::move(method)),
        type_(type),
        series_(metrics_->ForMethod(method_, type_)),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      series_->started->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      series_->msg_received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      series_->msg_sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) && !handled_) {
      handled_ = true;
      metrics_->RecordHandled(*series_, method_, type_, methods->GetSendStatus().error_code(),
                              SecondsSince(start_));
    }
    methods->Proceed();
  }

 private:
  std::shared_ptr<GrpcMetrics> metrics_;
  std::string method_;
  RpcType type_;
  const GrpcMetrics::MethodSeries* series_;
  std::chrono::steady_clock::time_point start_;
  bool handled_ = false;
};

class ServerMetricsFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerMetricsFactory(std::shared_ptr<GrpcMetrics> metrics) : metrics_(std::move(metrics)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    if (info->method() == nullptr) return nullptr;
    return new ServerMetricsInterceptor(metrics_, info->method(), FromServerType(info->type()));
  }

 private:
  std::shared_ptr<GrpcMetrics> metrics_;
};

// One per client call; the clock starts when the call is created, as in go-grpc-prometheus.
class ClientMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  ClientMetricsInterceptor(std::shared_ptr<GrpcMetrics> metrics, std::string method, RpcType type)
      : metrics_(std::move(metrics)),
        method_(std::move(method)),
        type_(type),
        series_(metrics_->ForMethod(method_, type_)),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      series_->started->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      series_->msg_sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      series_->msg_received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS) && !handled_) {
      handled_ = true;
      const grpc::Status* status = methods->GetRecvStatus();
      metrics_->RecordHandled(*series_, method_, type_,
                              status != nullptr ? status->error_code() : grpc::StatusCode::UNKNOWN,
                              SecondsSince(start_));
    }
    methods->Proceed();
  }

 private:
  std::shared_ptr<GrpcMetrics> metrics_;
  std::string method_;
  RpcType type_;
  const GrpcMetrics::MethodSeries* series_;
  std::chrono::steady_clock::time_point start_;
  bool handled_ = false;
};

class ClientMetricsFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ClientMetricsFactory(std::shared_ptr<GrpcMetrics> metrics) : metrics_(std::move(metrics)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo* info) override {
    if (info->method() == nullptr) return nullptr;
    return new ClientMetricsInterceptor(metrics_, info->method(), FromClientType(info->type()));
  }

 private:
  std::shared_ptr<GrpcMetrics> metrics_;
};

}  // namespace

std::string GrpcCodeName(grpc::StatusCode code) {
  const int n = static_cast<int>(code);
  if (n >= 0 && n < static_cast<int>(kCodeNames.size())) return kCodeNames[n];
  return absl::StrCat("Code(", n, ")");
}

absl::string_view RpcTypeName(RpcType type) {
  switch (type) {
    case RpcType::kUnary:
      return "unary";
    case RpcType::kClientStream:
      return "client_stream";
    case RpcType::kServerStream:
      return "server_stream";
    case RpcType::kBidiStream:
      return "bidi_stream";
  }
  return "unary";
}

std::pair<std::string, std::string> SplitFullMethod(absl::string_view full_method) {
  if (full_method.size() > 1 && full_method.front() == '/') {
    const absl::string_view rest = full_method.substr(1);
    const size_t slash = rest.find('/');
    if (slash != absl::string_view::npos && slash > 0 && slash + 1 < rest.size()) {
      return {std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
    }
  }
  return {"unknown", std::string(full_method)};
}

const prometheus::Histogram::BucketBoundaries& DefaultLatencyBuckets() {
  static const auto* buckets =
      new prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

GrpcMetrics::GrpcMetrics(Side side, std::shared_ptr<prometheus::Registry> registry)
    : side_(side), registry_(std::move(registry)) {
  const bool server = side == Side::kServer;
  const std::string p = server ? "grpc_server_" : "grpc_client_";
  started_ = &prometheus::BuildCounter()
                  .Name(p + "started_total")
                  .Help(server ? "Total number of RPCs started on the server."
                               : "Total number of RPCs started on the client.")
                  .Register(*registry_);
  handled_ = &prometheus::BuildCounter()
                  .Name(p + "handled_total")
                  .Help(server ? "Total number of RPCs completed on the server, regardless of "
                                 "success or failure."
                               : "Total number of RPCs completed by the client, regardless of "
                                 "success or failure.")
                  .Register(*registry_);
  msg_received_ = &prometheus::BuildCounter()
                       .Name(p + "msg_received_total")
                       .Help(server ? "Total number of RPC stream messages received on the server."
                                    : "Total number of RPC stream messages received by the client.")
                       .Register(*registry_);
  msg_sent_ = &prometheus::BuildCounter()
                   .Name(p + "msg_sent_total")
                   .Help(server ? "Total number of gRPC stream messages sent by the server."
                                : "Total number of gRPC stream messages sent by the client.")
                   .Register(*registry_);
  handling_seconds_ = &prometheus::BuildHistogram()
                           .Name(p + "handling_seconds")
                           .Help(server ? "Histogram of response latency (seconds) of gRPC that had been "
                                          "application-level handled by the server."
                                        : "Histogram of response latency (seconds) of the gRPC until it is "
                                          "finished by the application.")
                           .Register(*registry_);
}

std::map<std::string, std::string> GrpcMetrics::Labels(absl::string_view full_method, RpcType type) const {
  auto [service, method] = SplitFullMethod(full_method);
  return {{"grpc_type", std::string(RpcTypeName(type))},
          {"grpc_service", std::move(service)},
          {"grpc_method", std::move(method)}};
}

const GrpcMetrics::MethodSeries* GrpcMetrics::ForMethod(absl::string_view full_method, RpcType type) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = methods_.find(full_method);
    if (it != methods_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  auto& slot = methods_[full_method];
  if (slot == nullptr) {
    auto labels = Labels(full_method, type);
    auto series = std::make_unique<MethodSeries>();
    series->started = &started_->Add(labels);
    series->msg_received = &msg_received_->Add(labels);
    series->msg_sent = &msg_sent_->Add(labels);
    series->handling_seconds = &handling_seconds_->Add(labels, DefaultLatencyBuckets());
    for (size_t code = 0; code < series->handled.size(); ++code) {
      auto with_code = labels;
      with_code["grpc_code"] = kCodeNames[code];
      series->handled[code] = &handled_->Add(with_code);
    }
    slot = std::move(series);
  }
  return slot.get();
}

void GrpcMetrics::RecordHandled(const MethodSeries& series, absl::string_view full_method, RpcType type,
                                grpc::StatusCode code, double seconds) {
  const int n = static_cast<int>(code);
  if (n >= 0 && n < static_cast<int>(series.handled.size())) {
    series.handled[n]->Increment();
  } else {
    auto labels = Labels(full_method, type);
    labels["grpc_code"] = GrpcCodeName(code);
    handled_->Add(labels).Increment();
  }
  series.handling_seconds->Observe(seconds);
}

void GrpcMetrics::Preinitialize(const google::protobuf::ServiceDescriptor& service) {
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor* m = service.method(i);
    RpcType type = RpcType::kUnary;
    if (m->client_streaming() && m->server_streaming()) {
      type = RpcType::kBidiStream;
    } else if (m->client_streaming()) {
      type = RpcType::kClientStream;
    } else if (m->server_streaming()) {
      type = RpcType::kServerStream;
    }
    ForMethod(absl::StrCat("/", service.full_name(), "/", m->name()), type);
  }
}

std::shared_ptr<GrpcMetrics> NewServerMetrics(std::shared_ptr<prometheus::Registry> registry) {
  return std::make_shared<GrpcMetrics>(GrpcMetrics::Side::kServer, std::move(registry));
}

std::shared_ptr<GrpcMetrics> NewClientMetrics(std::shared_ptr<prometheus::Registry> registry) {
  return std::make_shared<GrpcMetrics>(GrpcMetrics::Side::kClient, std::move(registry));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewServerMetricsInterceptorFactory(
    std::shared_ptr<GrpcMetrics> server_metrics) {
  return std::make_unique<ServerMetricsFactory>(std::move(server_metrics));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewServerMetricsInterceptorFactory(
    std::shared_ptr<prometheus::Registry> registry) {
  return NewServerMetricsInterceptorFactory(NewServerMetrics(std::move(registry)));
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> NewClientMetricsInterceptorFactory(
    std::shared_ptr<GrpcMetrics> client_metrics) {
  return std::make_unique<ClientMetricsFactory>(std::move(client_metrics));
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> NewClientMetricsInterceptorFactory(
    std::shared_ptr<prometheus::Registry> registry) {
  return NewClientMetricsInterceptorFactory(NewClientMetrics(std::move(registry)));
}

}  // namespace marketlens::metrics
