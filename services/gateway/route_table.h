// The gateway's routes, read from the `(marketlens.api.http)` option of every RPC of the services it fronts
// (protos/marketlens/*/v1/*.proto), so that a new RPC with a route is served without touching the gateway.
// Built once at start-up from the descriptors compiled into the binary; the build fails loudly (and the
// gateway does not start) when an option is inconsistent with its request message: a variable naming no
// field, a repeated or message variable, an unknown body field, two RPCs claiming the same route, a
// streaming RPC with a route.
#ifndef MARKETLENS_SERVICES_GATEWAY_ROUTE_TABLE_H_
#define MARKETLENS_SERVICES_GATEWAY_ROUTE_TABLE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "services/gateway/field_path.h"
#include "services/gateway/path_template.h"

namespace marketlens::gateway {

struct Route {
  std::string http_method;  // "GET", "POST", "PUT", "DELETE", "PATCH"
  PathTemplate path;
  // "" (no body: unbound fields come from the query string), "*" (the whole request), or a field name.
  std::string body;
  FieldPath body_field;                // resolved `body` when it names a field
  std::vector<FieldPath> path_fields;  // resolved variables, in template order
  const google::protobuf::MethodDescriptor* method = nullptr;
  // "/marketlens.analyzer.v1.AnalyzerService/ListProductInsights" (the gRPC method path).
  std::string grpc_path;
  // "GET /api/v1/products/{product_id}": the metrics label and the name in logs.
  std::string label;
  // 0 for the RPC's main rule, 1.. for its additional_bindings.
  int binding = 0;

  const google::protobuf::ServiceDescriptor* service() const { return method->service(); }
};

class RouteTable {
 public:
  // The routes of every method of `services` that has the option. Errors name the RPC and the rule.
  static absl::StatusOr<RouteTable> Build(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  struct Lookup {
    const Route* route = nullptr;  // null: no route for this method and path
    PathBindings bindings;
    // When route is null but the path matches routes of other methods: their methods ("GET", "POST").
    std::vector<std::string> allowed_methods;
  };
  // The most specific route (most literal segments, then without "**", then declaration order) whose
  // method and template match. `path` is the request path without the query string, still percent-encoded.
  Lookup Find(absl::string_view http_method, absl::string_view path) const;

  const std::vector<Route>& routes() const { return *routes_; }
  // The services the table was built from (including those without any route).
  const std::vector<const google::protobuf::ServiceDescriptor*>& services() const { return services_; }

 private:
  // Behind a pointer so that moving the table keeps Route addresses (handed out by Find) valid.
  std::shared_ptr<std::vector<Route>> routes_;
  std::vector<const google::protobuf::ServiceDescriptor*> services_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_ROUTE_TABLE_H_
