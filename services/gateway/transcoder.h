// Calls the gRPC method behind a route with a request built from HTTP, and turns the answer into JSON.
//
// Why generic: the gateway links the generated messages of the services it fronts (for their descriptors and
// JSON mapping) but no per-service stub code. Requests go out as serialized bytes through grpc::GenericStub
// ("/package.Service/Method"), responses are parsed into the method's output message and printed with
// protobuf's JSON mapping (lowerCamelCase names, enums by name, 64-bit integers as strings, default values
// printed so clients always see every field). A new RPC with a route works without touching this code.
//
// Calls are asynchronous (gRPC's callback API): no gateway thread waits for a backend. Each call carries a
// deadline (the client's `Grpc-Timeout` header, capped, or the default) and the request id (`x-request-id`).
// A backend's error status becomes an ApiError: the code maps to an HTTP status (api_error.h); the field
// at fault is taken from the `x-error-field` trailer, else from the message when it starts with a field of
// the request ("page_size must be 1..100"); a `retry-after-ms` trailer becomes a Retry-After header.
#ifndef MARKETLENS_SERVICES_GATEWAY_TRANSCODER_H_
#define MARKETLENS_SERVICES_GATEWAY_TRANSCODER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "services/gateway/api_error.h"
#include "services/gateway/route_table.h"

namespace marketlens::gateway {

// The trailer a backend may set to name the request field an error is about.
inline constexpr char kErrorFieldTrailer[] = "x-error-field";
// The trailer with the wait a RESOURCE_EXHAUSTED caller should observe (milliseconds), as the marketplace
// sends it.
inline constexpr char kRetryAfterMsTrailer[] = "retry-after-ms";

struct TranscoderOptions {
  // Deadline of a backend call when the client asks for none.
  absl::Duration default_timeout = absl::Seconds(10);
  // Upper bound of a client-requested deadline (Grpc-Timeout header).
  absl::Duration max_timeout = absl::Seconds(60);
};

// A request bound and serialized, ready to be sent (and its serialized bytes used as a cache key).
struct PreparedCall {
  const Route* route = nullptr;
  std::unique_ptr<google::protobuf::Message> request;
  std::string request_bytes;  // deterministic serialization
  // The caller's API key id, sent as x-api-key-id (the privacy service records who asked for an erasure).
  std::string api_key_id;
};

struct CallResult {
  bool ok = false;
  std::string json;  // when ok
  ApiError error;    // when !ok
};

class Transcoder {
 public:
  // `channels` maps a service's full name ("marketlens.analyzer.v1.AnalyzerService") to its backend.
  // FAILED_PRECONDITION when a service with routes has no channel.
  static absl::StatusOr<std::unique_ptr<Transcoder>> Create(
      const RouteTable* routes, absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels,
      TranscoderOptions options = {});

  // Binds the HTTP request into the route's request message (request_binder.h).
  std::optional<ApiError> Prepare(const Route& route, const PathBindings& bindings, absl::string_view query,
                                  absl::string_view body, PreparedCall* out) const;

  // Cancels a call in flight (ClientContext::TryCancel: the backend sees its context cancelled and the
  // call ends with CANCELLED). Callable from any thread, any number of times, also after the call ended.
  using Canceller = std::function<void()>;

  // Sends the call; `done` runs exactly once, on a gRPC thread (or on the thread of a Canceller that
  // cancels it). `timeout` <= 0: the default.
  Canceller Invoke(const PreparedCall& call, absl::Duration timeout, const std::string& request_id,
                   std::function<void(CallResult)> done);

  // The channel of a service (null if none).
  std::shared_ptr<grpc::Channel> channel(absl::string_view service) const;
  const TranscoderOptions& options() const { return options_; }

  // The deadline a client asked for with a gRPC-style "Grpc-Timeout" value ("500m", "2S", "1M"); nullopt when
  // malformed. Units: H, M, S, m (ms), u (us), n (ns).
  static std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value);

  // The ApiError for a backend's status (exposed for tests).
  static ApiError ErrorFromStatus(const grpc::Status& status,
                                  const google::protobuf::Descriptor* request_type,
                                  const std::multimap<grpc::string_ref, grpc::string_ref>& trailers);

  // Protobuf's JSON mapping with defaults printed (what every response body is). `size_hint`: the expected
  // size of the JSON, reserved up front.
  static absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message, size_t size_hint = 0);

 private:
  Transcoder(const RouteTable* routes, TranscoderOptions options) : routes_(routes), options_(options) {}

  struct Backend {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  const RouteTable* routes_;
  const TranscoderOptions options_;
  absl::flat_hash_map<std::string, Backend> backends_;  // by service full name
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_TRANSCODER_H_
