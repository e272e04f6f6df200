// gRPC golden-signal metrics recorded by interceptors, with the exact metric names and labels of
// go-grpc-prometheus so that existing Grafana dashboards and alerts work unchanged:
//
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}  (histogram)
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}
//   and the same five with the grpc_client_ prefix for outgoing calls.
//
// grpc_type is unary / client_stream / server_stream / bidi_stream, grpc_service "package.Service",
// grpc_method "Method", grpc_code the Go name of the status code ("OK", "NotFound", "Canceled", ...).
// Like go-grpc-prometheus, the first call of a method creates its handled_total series for every code at
// zero (and Preinitialize() does so before any call), so rate() and absent() queries behave.
#ifndef MARKETLENS_COMMON_METRICS_GRPC_METRICS_H_
#define MARKETLENS_COMMON_METRICS_GRPC_METRICS_H_

#include <array>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics/exposer.h"
#include "grpcpp/support/client_interceptor.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace google::protobuf {
class ServiceDescriptor;
}

namespace marketlens::metrics {

// "OK", "Canceled", "Unknown", "InvalidArgument", ... exactly as Go's codes.Code.String().
std::string GrpcCodeName(grpc::StatusCode code);

// "unary", "client_stream", "server_stream", "bidi_stream".
enum class RpcType { kUnary, kClientStream, kServerStream, kBidiStream };
absl::string_view RpcTypeName(RpcType type);

// Splits "/package.Service/Method" into {"package.Service", "Method"}; anything else gives
// {"unknown", <input>}.
std::pair<std::string, std::string> SplitFullMethod(absl::string_view full_method);

// The go-grpc-prometheus default histogram buckets (Prometheus DefBuckets).
const prometheus::Histogram::BucketBoundaries& DefaultLatencyBuckets();

// The metric families of one side (server or client) in one registry, plus a per-method cache of series so
// that recording a call does not build label maps. Thread-safe. Two GrpcMetrics of the same side on the
// same registry share the same series (prometheus-cpp merges identical families).
class GrpcMetrics {
 public:
  enum class Side { kServer, kClient };

  // The series of one method.
  struct MethodSeries {
    prometheus::Counter* started;
    prometheus::Counter* msg_received;
    prometheus::Counter* msg_sent;
    prometheus::Histogram* handling_seconds;
    std::array<prometheus::Counter*, 17> handled;  // indexed by grpc::StatusCode 0..16
  };

  GrpcMetrics(Side side, std::shared_ptr<prometheus::Registry> registry);
  GrpcMetrics(const GrpcMetrics&) = delete;
  GrpcMetrics& operator=(const GrpcMetrics&) = delete;

  Side side() const { return side_; }
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // Creates the series of every method of `service` at zero, as go-grpc-prometheus' InitializeMetrics.
  void Preinitialize(const google::protobuf::ServiceDescriptor& service);

  // The series for "/package.Service/Method" (created on first use). The pointer stays valid for the
  // lifetime of this object.
  const MethodSeries* ForMethod(absl::string_view full_method, RpcType type);

  // Counts one finished call. Codes outside 0..16 get their own "Code(N)" series.
  void RecordHandled(const MethodSeries& series, absl::string_view full_method, RpcType type,
                     grpc::StatusCode code, double seconds);

 private:
  std::map<std::string, std::string> Labels(absl::string_view full_method, RpcType type) const;

  const Side side_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Counter>* msg_received_;
  prometheus::Family<prometheus::Counter>* msg_sent_;
  prometheus::Family<prometheus::Histogram>* handling_seconds_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodSeries>> methods_ ABSL_GUARDED_BY(mu_);
};

// Server-side recording. Register the factory with
// ServerBuilder::experimental().SetInterceptorCreators(...).
std::shared_ptr<GrpcMetrics> NewServerMetrics(
    std::shared_ptr<prometheus::Registry> registry = DefaultRegistry());
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewServerMetricsInterceptorFactory(
    std::shared_ptr<GrpcMetrics> server_metrics);
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewServerMetricsInterceptorFactory(
    std::shared_ptr<prometheus::Registry> registry = DefaultRegistry());

// Client-side recording. Pass the factory to grpc::experimental::CreateCustomChannelWithInterceptors
// (common/server's MakeChannel does this).
std::shared_ptr<GrpcMetrics> NewClientMetrics(
    std::shared_ptr<prometheus::Registry> registry = DefaultRegistry());
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> NewClientMetricsInterceptorFactory(
    std::shared_ptr<GrpcMetrics> client_metrics);
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> NewClientMetricsInterceptorFactory(
    std::shared_ptr<prometheus::Registry> registry = DefaultRegistry());

}  // namespace marketlens::metrics

#endif  // MARKETLENS_COMMON_METRICS_GRPC_METRICS_H_
