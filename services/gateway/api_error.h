// The one shape of every error the gateway returns over HTTP, whoever caused it (the client's request, auth,
// the rate limit, a backend's gRPC status):
//
//   HTTP/1.1 400 Bad Request
//   {"error":{"code":"INVALID_ARGUMENT","message":"page_size must be 1..100","field":"page_size"}}
//
// (marketlens.gateway.v1.ErrorBody in gateway.proto; "field" is "" when no request field is at fault.)
// gRPC codes map to HTTP statuses exactly as grpc-gateway's HTTPStatusFromCode does, so clients written
// against grpc-gateway services see the same statuses here.
#ifndef MARKETLENS_SERVICES_GATEWAY_API_ERROR_H_
#define MARKETLENS_SERVICES_GATEWAY_API_ERROR_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/strings/utf8.h"

namespace marketlens::gateway {

struct ApiError {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  std::string message;
  // The request field at fault in proto (snake_case) dotted form, e.g. "page_size", "context.device".
  std::string field;
  // 0: HttpStatusFromCode(code). Set for statuses that no gRPC code gives (405, 413, 415, 431).
  int http_status = 0;
  // Extra response headers (Retry-After, Allow, WWW-Authenticate).
  std::vector<std::pair<std::string, std::string>> headers;

  int status() const;
};

ApiError MakeError(absl::StatusCode code, absl::string_view message, absl::string_view field = "");

// grpc-gateway's mapping: OK 200, CANCELLED 499, UNKNOWN 500, INVALID_ARGUMENT 400, DEADLINE_EXCEEDED 504,
// NOT_FOUND 404, ALREADY_EXISTS 409, PERMISSION_DENIED 403, UNAUTHENTICATED 401, RESOURCE_EXHAUSTED 429,
// FAILED_PRECONDITION 400, ABORTED 409, OUT_OF_RANGE 400, UNIMPLEMENTED 501, INTERNAL 500,
// UNAVAILABLE 503, DATA_LOSS 500; anything else 500.
int HttpStatusFromCode(absl::StatusCode code);

// "INVALID_ARGUMENT" (the gRPC code's canonical name).
std::string CodeName(absl::StatusCode code);

// {"error":{"code":"...","message":"...","field":"..."}} (message and field made valid UTF-8)
std::string ErrorBodyJson(const ApiError& error);

// Client bytes echoed in an error body or a log line are passed through SanitizeUtf8 first, so that they
// never make it invalid JSON.
using ::marketlens::strings::SanitizeUtf8;

// The standard reason phrase of an HTTP status ("Not Found"); "Unknown" for others.
absl::string_view ReasonPhrase(int status);

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_API_ERROR_H_
