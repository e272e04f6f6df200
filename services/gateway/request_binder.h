// Fills an RPC's request message from an HTTP request matched to one of its routes, with protobuf's JSON
// mapping, the way grpc-gateway does:
//   1. the body: body "*" parses the whole JSON object into the request, body "<field>" parses it into
//      that field; a route without a body option refuses a non-empty body;
//   2. the query string (routes whose body is not "*"): every parameter names a field by its proto name
//      or JSON name, dotted for nested messages (campaign_id, campaignId, context.device); repeated fields
//      take repeated parameters and/or comma-separated values (item_ids=a&item_ids=b, item_ids=a,b); an
//      empty value leaves the field unset; unknown or duplicated parameters are errors;
//   3. the path variables, which win over anything else.
// Every error is INVALID_ARGUMENT naming the field at fault, in proto (snake_case) form.
#ifndef MARKETLENS_SERVICES_GATEWAY_REQUEST_BINDER_H_
#define MARKETLENS_SERVICES_GATEWAY_REQUEST_BINDER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "services/gateway/api_error.h"
#include "services/gateway/field_path.h"
#include "services/gateway/route_table.h"

namespace marketlens::gateway {

// "a=1&b=x%20y&c=d+e" -> {{"a","1"},{"b","x y"},{"c","d e"}}; a parameter without '=' has value "".
std::vector<std::pair<std::string, std::string>> ParseQueryString(absl::string_view query);

// Sets one leaf field from its URL string form (scalars, enums by name or number, Timestamp/Duration/
// FieldMask in their JSON string forms, wrappers). Repeated leaves get the value appended.
std::optional<ApiError> SetFieldFromString(google::protobuf::Message* message, const FieldPath& path,
                                           absl::string_view value);

// Parses JSON into `message` with protobuf's JSON mapping (unknown fields refused); the error names the
// field at fault when protobuf says which.
std::optional<ApiError> MergeJson(absl::string_view json, google::protobuf::Message* message);

// Steps 1-3 above. `query` is the raw query string (after '?', still encoded).
std::optional<ApiError> BindRequest(const Route& route, const PathBindings& bindings, absl::string_view query,
                                    absl::string_view body, google::protobuf::Message* request);

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_REQUEST_BINDER_H_
