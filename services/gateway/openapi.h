// GET /openapi.json: an OpenAPI 3.0 document of the REST API, generated at start-up from the same
// descriptors (and `(marketlens.api.http)` options) the routes come from, so it can never disagree with what
// the gateway serves. Every route gets its path and query parameters (proto and JSON names), its request
// body (body "*" or a field) and its response schema in protobuf's JSON mapping (int64 as strings, enums as
// names, Timestamp as date-time strings), plus the shared error body (marketlens.gateway.v1.ErrorBody).
#ifndef MARKETLENS_SERVICES_GATEWAY_OPENAPI_H_
#define MARKETLENS_SERVICES_GATEWAY_OPENAPI_H_

#include <functional>
#include <string>

#include "services/gateway/route_table.h"

namespace marketlens::gateway {

struct OpenApiOptions {
  std::string title = "marketlens REST API";
  std::string version = "v1";
  std::string description;
  // The scope a route needs ("read", "write", "admin"), shown as x-required-scope; empty: not shown.
  std::function<std::string(const Route&)> required_scope;
  // The success status of a route (202 for an erasure request); empty or 0: 200.
  std::function<int(const Route&)> success_status;
};

// The document, as compact JSON.
std::string BuildOpenApiJson(const RouteTable& routes, const OpenApiOptions& options = {});

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_OPENAPI_H_
