#include "services/gateway/openapi.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "marketlens/gateway/v1/gateway.pb.h"
#include "services/gateway/json_writer.h"

namespace marketlens::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr int kMaxQueryDepth = 3;

std::string SchemaName(const Descriptor* d) { return d->full_name(); }

JsonValue Ref(const Descriptor* d) {
  JsonValue v = JsonValue::Object();
  v.Set("$ref", JsonValue::String(absl::StrCat("#/components/schemas/", SchemaName(d))));
  return v;
}

JsonValue Typed(absl::string_view type, absl::string_view format = "") {
  JsonValue v = JsonValue::Object();
  v.Set("type", JsonValue::String(type));
  if (!format.empty()) v.Set("format", JsonValue::String(format));
  return v;
}

class SchemaBuilder {
 public:
  // The schema of one value of the field (ignoring repeated/map), registering message schemas as needed.
  JsonValue ValueSchema(const FieldDescriptor* f) {
    switch (f->type()) {
      case FieldDescriptor::TYPE_STRING:
        return Typed("string");
      case FieldDescriptor::TYPE_BYTES:
        return Typed("string", "byte");
      case FieldDescriptor::TYPE_BOOL:
        return Typed("boolean");
      case FieldDescriptor::TYPE_DOUBLE:
        return Typed("number", "double");
      case FieldDescriptor::TYPE_FLOAT:
        return Typed("number", "float");
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        return Typed("integer", "int32");
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32: {
        JsonValue v = Typed("integer", "int64");
        v.Set("minimum", JsonValue::Number(0));
        return v;
      }
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
        return Typed("string", "int64");  // proto3 JSON: 64-bit integers are strings
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        return Typed("string", "uint64");
      case FieldDescriptor::TYPE_ENUM: {
        JsonValue v = Typed("string");
        JsonValue values = JsonValue::Array();
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          values.Push(JsonValue::String(f->enum_type()->value(i)->name()));
        }
        v.Set("enum", std::move(values));
        return v;
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return MessageSchema(f->message_type());
    }
    return JsonValue::Object();
  }

  // A field as a property (arrays and maps included).
  JsonValue FieldSchema(const FieldDescriptor* f) {
    if (f->is_map()) {
      JsonValue v = Typed("object");
      v.Set("additionalProperties", ValueSchema(f->message_type()->map_value()));
      return v;
    }
    if (f->is_repeated()) {
      JsonValue v = Typed("array");
      v.Set("items", ValueSchema(f));
      return v;
    }
    return ValueSchema(f);
  }

  // Well-known types inline, other messages by reference (defined once under components/schemas).
  JsonValue MessageSchema(const Descriptor* d) {
    const std::string& n = d->full_name();
    if (n == "google.protobuf.Timestamp") return Typed("string", "date-time");
    if (n == "google.protobuf.Duration") return Typed("string", "duration");  // "1.5s"
    if (n == "google.protobuf.FieldMask") return Typed("string");
    if (n == "google.protobuf.Struct") return Typed("object");
    if (n == "google.protobuf.Value") return JsonValue::Object();
    if (n == "google.protobuf.ListValue") return Typed("array");
    if (n == "google.protobuf.Empty") return Typed("object");
    if (absl::StartsWith(n, "google.protobuf.") && absl::EndsWith(n, "Value")) {
      return ValueSchema(d->FindFieldByName("value"));
    }
    Define(d);
    return Ref(d);
  }

  void Define(const Descriptor* d) {
    const std::string name = SchemaName(d);
    if (defined_.count(name) > 0) return;
    defined_.insert(name);
    JsonValue schema = Typed("object");
    JsonValue props = JsonValue::Object();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      JsonValue p = FieldSchema(f);
      if (f->json_name() != f->name() && p.kind() == JsonValue::Kind::kObject && !p.Has("$ref")) {
        p.Set("description", JsonValue::String(absl::StrCat("proto field ", f->name())));
      }
      props.Set(f->json_name(), std::move(p));
    }
    schema.Set("properties", std::move(props));
    schemas_[name] = std::move(schema);
  }

  JsonValue Components() {
    JsonValue out = JsonValue::Object();
    for (auto& [name, schema] : schemas_) out.Set(name, std::move(schema));
    return out;
  }

 private:
  std::set<std::string> defined_;
  std::map<std::string, JsonValue> schemas_;
};

bool IsPathBound(const Route& r, const FieldPath& p) {
  for (const FieldPath& bound : r.path_fields) {
    if (bound.size() <= p.size() && std::equal(bound.begin(), bound.end(), p.begin())) return true;
  }
  return false;
}

// Query parameters: every URL-bindable leaf not bound by the path or the body, nested messages flattened.
void AddQueryParameters(const Route& r, const Descriptor* d, FieldPath prefix, SchemaBuilder& schemas,
                        JsonValue& params) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    FieldPath p = prefix;
    p.push_back(f);
    if (IsPathBound(r, p)) continue;
    if (!r.body_field.empty() && p.front() == r.body_field.front()) continue;
    if (f->is_map()) continue;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !IsUrlBindable(f)) {
      if (!f->is_repeated() && static_cast<int>(p.size()) < kMaxQueryDepth) {
        AddQueryParameters(r, f->message_type(), p, schemas, params);
      }
      continue;
    }
    JsonValue param = JsonValue::Object();
    const std::string name = FieldPathName(p);
    param.Set("name", JsonValue::String(name));
    param.Set("in", JsonValue::String("query"));
    std::string json_path;
    for (const FieldDescriptor* part : p)
      absl::StrAppend(&json_path, json_path.empty() ? "" : ".", part->json_name());
    if (json_path != name) {
      param.Set("description", JsonValue::String(absl::StrCat("also accepted as ", json_path)));
    }
    if (f->is_repeated()) {
      param.Set("style", JsonValue::String("form"));
      param.Set("explode", JsonValue::Bool(true));
      param.Set("description",
                JsonValue::String(
                    absl::StrCat(json_path != name ? absl::StrCat("also accepted as ", json_path, "; ") : "",
                                 "repeat the parameter or separate values with commas")));
    }
    param.Set("schema", schemas.FieldSchema(f));
    params.Push(std::move(param));
  }
}

JsonValue JsonContent(JsonValue schema) {
  JsonValue media = JsonValue::Object();
  media.Set("schema", std::move(schema));
  JsonValue content = JsonValue::Object();
  content.Set("application/json", std::move(media));
  return content;
}

JsonValue Operation(const Route& r, const OpenApiOptions& options, SchemaBuilder& schemas) {
  JsonValue op = JsonValue::Object();
  const std::string service = r.service()->name();
  op.Set("operationId", JsonValue::String(absl::StrCat(service, "_", r.method->name(),
                                                       r.binding > 0 ? absl::StrCat("_", r.binding) : "")));
  JsonValue tags = JsonValue::Array();
  tags.Push(JsonValue::String(service));
  op.Set("tags", std::move(tags));
  op.Set("summary", JsonValue::String(r.method->full_name()));
  op.Set("x-grpc-method", JsonValue::String(r.grpc_path));
  if (options.required_scope) {
    const std::string scope = options.required_scope(r);
    if (!scope.empty()) op.Set("x-required-scope", JsonValue::String(scope));
  }

  JsonValue params = JsonValue::Array();
  for (size_t i = 0; i < r.path_fields.size(); ++i) {
    JsonValue p = JsonValue::Object();
    p.Set("name", JsonValue::String(FieldPathName(r.path_fields[i])));
    p.Set("in", JsonValue::String("path"));
    p.Set("required", JsonValue::Bool(true));
    p.Set("schema", schemas.FieldSchema(r.path_fields[i].back()));
    params.Push(std::move(p));
  }
  if (r.body != "*") AddQueryParameters(r, r.method->input_type(), {}, schemas, params);
  JsonValue grpc_timeout = JsonValue::Object();
  grpc_timeout.Set("name", JsonValue::String("Grpc-Timeout"));
  grpc_timeout.Set("in", JsonValue::String("header"));
  grpc_timeout.Set("description", JsonValue::String("deadline for the backend call, e.g. 500m or 2S"));
  grpc_timeout.Set("schema", Typed("string"));
  params.Push(std::move(grpc_timeout));
  op.Set("parameters", std::move(params));

  if (!r.body.empty()) {
    JsonValue body = JsonValue::Object();
    body.Set("required", JsonValue::Bool(false));
    body.Set("content", JsonContent(r.body == "*" ? schemas.MessageSchema(r.method->input_type())
                                                  : schemas.FieldSchema(r.body_field.front())));
    op.Set("requestBody", std::move(body));
  }

  JsonValue responses = JsonValue::Object();
  JsonValue ok = JsonValue::Object();
  const int status = options.success_status ? options.success_status(r) : 0;
  ok.Set("description", JsonValue::String(status == 202 ? "Accepted: the work completes later" : "OK"));
  ok.Set("content", JsonContent(schemas.MessageSchema(r.method->output_type())));
  responses.Set(status > 0 ? absl::StrCat(status) : "200", std::move(ok));
  JsonValue err = JsonValue::Object();
  err.Set("description", JsonValue::String("An error; the status follows the gRPC code (see ErrorBody)"));
  err.Set("content", JsonContent(schemas.MessageSchema(gateway::v1::ErrorBody::descriptor())));
  responses.Set("default", std::move(err));
  op.Set("responses", std::move(responses));
  return op;
}

JsonValue PlainOperation(absl::string_view summary, absl::string_view content_type) {
  JsonValue op = JsonValue::Object();
  op.Set("summary", JsonValue::String(summary));
  op.Set("tags", JsonValue::Array());
  op["tags"].Push(JsonValue::String("gateway"));
  op.Set("security", JsonValue::Array());
  JsonValue ok = JsonValue::Object();
  ok.Set("description", JsonValue::String("OK"));
  JsonValue media = JsonValue::Object();
  media.Set(content_type, JsonValue::Object());
  ok.Set("content", std::move(media));
  JsonValue responses = JsonValue::Object();
  responses.Set("200", std::move(ok));
  op.Set("responses", std::move(responses));
  return op;
}

}  // namespace

std::string BuildOpenApiJson(const RouteTable& routes, const OpenApiOptions& options) {
  SchemaBuilder schemas;
  schemas.Define(gateway::v1::ErrorBody::descriptor());

  // Paths in route order would interleave; group by OpenAPI path, in the order first seen.
  std::vector<std::string> order;
  std::map<std::string, JsonValue> paths;
  for (const Route& r : routes.routes()) {
    const std::string path = r.path.OpenApiPath();
    if (paths.find(path) == paths.end()) {
      order.push_back(path);
      paths[path] = JsonValue::Object();
    }
    std::string method = r.http_method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[path].Set(method, Operation(r, options, schemas));
  }
  JsonValue paths_json = JsonValue::Object();
  for (const std::string& p : order) paths_json.Set(p, std::move(paths[p]));
  JsonValue healthz = JsonValue::Object();
  healthz.Set("get", PlainOperation("Liveness: the gateway process is up", "application/json"));
  paths_json.Set("/healthz", std::move(healthz));
  JsonValue readyz = JsonValue::Object();
  readyz.Set("get",
             PlainOperation("Readiness: every backend is serving (503 otherwise)", "application/json"));
  paths_json.Set("/readyz", std::move(readyz));
  JsonValue metrics = JsonValue::Object();
  metrics.Set("get", PlainOperation("Prometheus metrics", "text/plain"));
  paths_json.Set("/metrics", std::move(metrics));
  JsonValue self = JsonValue::Object();
  self.Set("get", PlainOperation("This document", "application/json"));
  paths_json.Set("/openapi.json", std::move(self));

  JsonValue doc = JsonValue::Object();
  doc.Set("openapi", JsonValue::String("3.0.3"));
  JsonValue info = JsonValue::Object();
  info.Set("title", JsonValue::String(options.title));
  info.Set("version", JsonValue::String(options.version));
  info.Set("description",
           JsonValue::String(options.description.empty()
                                 ? "Generated from the (marketlens.api.http) options of the gRPC services. "
                                   "Bodies and responses use protobuf's JSON mapping; errors are ErrorBody."
                                 : options.description));
  doc.Set("info", std::move(info));
  JsonValue servers = JsonValue::Array();
  JsonValue server = JsonValue::Object();
  server.Set("url", JsonValue::String("/"));
  servers.Push(std::move(server));
  doc.Set("servers", std::move(servers));
  JsonValue security = JsonValue::Array();
  JsonValue bearer = JsonValue::Object();
  bearer.Set("bearerAuth", JsonValue::Array());
  security.Push(std::move(bearer));
  JsonValue header = JsonValue::Object();
  header.Set("apiKeyHeader", JsonValue::Array());
  security.Push(std::move(header));
  doc.Set("security", std::move(security));
  JsonValue tags = JsonValue::Array();
  for (const auto* s : routes.services()) {
    JsonValue t = JsonValue::Object();
    t.Set("name", JsonValue::String(s->name()));
    t.Set("description", JsonValue::String(s->full_name()));
    tags.Push(std::move(t));
  }
  doc.Set("tags", std::move(tags));
  doc.Set("paths", std::move(paths_json));

  JsonValue schemes = JsonValue::Object();
  JsonValue bearer_scheme = JsonValue::Object();
  bearer_scheme.Set("type", JsonValue::String("http"));
  bearer_scheme.Set("scheme", JsonValue::String("bearer"));
  bearer_scheme.Set("description", JsonValue::String("Authorization: Bearer mlk_..."));
  schemes.Set("bearerAuth", std::move(bearer_scheme));
  JsonValue header_scheme = JsonValue::Object();
  header_scheme.Set("type", JsonValue::String("apiKey"));
  header_scheme.Set("in", JsonValue::String("header"));
  header_scheme.Set("name", JsonValue::String("X-Api-Key"));
  schemes.Set("apiKeyHeader", std::move(header_scheme));
  JsonValue components = JsonValue::Object();
  components.Set("securitySchemes", std::move(schemes));
  components.Set("schemas", schemas.Components());
  doc.Set("components", std::move(components));
  return doc.Serialize();
}

}  // namespace marketlens::gateway
