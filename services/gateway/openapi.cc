#include "services/gateway/openapi.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "marketlens/gateway/v1/gateway.pb.h"
#include "nlohmann/json.hpp"

namespace marketlens::gateway {
namespace {

// Insertion-ordered, so the document reads in the order it is built and is the same on every run.
using Json = nlohmann::ordered_json;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr int kMaxQueryDepth = 3;

std::string SchemaName(const Descriptor* d) { return d->full_name(); }

Json Ref(const Descriptor* d) {
  Json v = Json::object();
  v["$ref"] = absl::StrCat("#/components/schemas/", SchemaName(d));
  return v;
}

Json Typed(absl::string_view type, absl::string_view format = "") {
  Json v = Json::object();
  v["type"] = std::string(type);
  if (!format.empty()) v["format"] = std::string(format);
  return v;
}

class SchemaBuilder {
 public:
  // The schema of one value of the field (ignoring repeated/map), registering message schemas as needed.
  Json ValueSchema(const FieldDescriptor* f) {
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
        Json v = Typed("integer", "int64");
        v["minimum"] = 0;
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
        Json v = Typed("string");
        Json values = Json::array();
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          values.push_back(f->enum_type()->value(i)->name());
        }
        v["enum"] = std::move(values);
        return v;
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return MessageSchema(f->message_type());
    }
    return Json::object();
  }

  // A field as a property (arrays and maps included).
  Json FieldSchema(const FieldDescriptor* f) {
    if (f->is_map()) {
      Json v = Typed("object");
      v["additionalProperties"] = ValueSchema(f->message_type()->map_value());
      return v;
    }
    if (f->is_repeated()) {
      Json v = Typed("array");
      v["items"] = ValueSchema(f);
      return v;
    }
    return ValueSchema(f);
  }

  // Well-known types inline, other messages by reference (defined once under components/schemas).
  Json MessageSchema(const Descriptor* d) {
    const std::string& n = d->full_name();
    if (n == "google.protobuf.Timestamp") return Typed("string", "date-time");
    if (n == "google.protobuf.Duration") return Typed("string", "duration");  // "1.5s"
    if (n == "google.protobuf.FieldMask") return Typed("string");
    if (n == "google.protobuf.Struct") return Typed("object");
    if (n == "google.protobuf.Value") return Json::object();
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
    Json schema = Typed("object");
    Json props = Json::object();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      Json p = FieldSchema(f);
      if (f->json_name() != f->name() && p.is_object() && !p.contains("$ref")) {
        p["description"] = absl::StrCat("proto field ", f->name());
      }
      props[f->json_name()] = std::move(p);
    }
    schema["properties"] = std::move(props);
    schemas_[name] = std::move(schema);
  }

  Json Components() {
    Json out = Json::object();
    for (auto& [name, schema] : schemas_) out[name] = std::move(schema);
    return out;
  }

 private:
  std::set<std::string> defined_;
  std::map<std::string, Json> schemas_;
};

bool IsPathBound(const Route& r, const FieldPath& p) {
  for (const FieldPath& bound : r.path_fields) {
    if (bound.size() <= p.size() && std::equal(bound.begin(), bound.end(), p.begin())) return true;
  }
  return false;
}

// Query parameters: every URL-bindable leaf not bound by the path or the body, nested messages flattened.
void AddQueryParameters(const Route& r, const Descriptor* d, FieldPath prefix, SchemaBuilder& schemas,
                        Json& params) {
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
    Json param = Json::object();
    const std::string name = FieldPathName(p);
    param["name"] = name;
    param["in"] = "query";
    std::string json_path;
    for (const FieldDescriptor* part : p)
      absl::StrAppend(&json_path, json_path.empty() ? "" : ".", part->json_name());
    if (json_path != name) {
      param["description"] = absl::StrCat("also accepted as ", json_path);
    }
    if (f->is_repeated()) {
      param["style"] = "form";
      param["explode"] = true;
      param["description"] =
          absl::StrCat(json_path != name ? absl::StrCat("also accepted as ", json_path, "; ") : "",
                       "repeat the parameter or separate values with commas");
    }
    param["schema"] = schemas.FieldSchema(f);
    params.push_back(std::move(param));
  }
}

Json JsonContent(Json schema) {
  Json media = Json::object();
  media["schema"] = std::move(schema);
  Json content = Json::object();
  content["application/json"] = std::move(media);
  return content;
}

Json Operation(const Route& r, const OpenApiOptions& options, SchemaBuilder& schemas) {
  Json op = Json::object();
  const std::string service = r.service()->name();
  op["operationId"] =
      absl::StrCat(service, "_", r.method->name(), r.binding > 0 ? absl::StrCat("_", r.binding) : "");
  Json tags = Json::array();
  tags.push_back(service);
  op["tags"] = std::move(tags);
  op["summary"] = r.method->full_name();
  op["x-grpc-method"] = r.grpc_path;
  if (options.required_scope) {
    const std::string scope = options.required_scope(r);
    if (!scope.empty()) op["x-required-scope"] = scope;
  }

  Json params = Json::array();
  for (size_t i = 0; i < r.path_fields.size(); ++i) {
    Json p = Json::object();
    p["name"] = FieldPathName(r.path_fields[i]);
    p["in"] = "path";
    p["required"] = true;
    p["schema"] = schemas.FieldSchema(r.path_fields[i].back());
    params.push_back(std::move(p));
  }
  if (r.body != "*") AddQueryParameters(r, r.method->input_type(), {}, schemas, params);
  Json grpc_timeout = Json::object();
  grpc_timeout["name"] = "Grpc-Timeout";
  grpc_timeout["in"] = "header";
  grpc_timeout["description"] = "deadline for the backend call, e.g. 500m or 2S";
  grpc_timeout["schema"] = Typed("string");
  params.push_back(std::move(grpc_timeout));
  op["parameters"] = std::move(params);

  if (!r.body.empty()) {
    Json body = Json::object();
    body["required"] = false;
    body["content"] = JsonContent(r.body == "*" ? schemas.MessageSchema(r.method->input_type())
                                                : schemas.FieldSchema(r.body_field.front()));
    op["requestBody"] = std::move(body);
  }

  Json responses = Json::object();
  Json ok = Json::object();
  const int status = options.success_status ? options.success_status(r) : 0;
  ok["description"] = status == 202 ? "Accepted: the work completes later" : "OK";
  ok["content"] = JsonContent(schemas.MessageSchema(r.method->output_type()));
  responses[status > 0 ? absl::StrCat(status) : "200"] = std::move(ok);
  Json err = Json::object();
  err["description"] = "An error; the status follows the gRPC code (see ErrorBody)";
  err["content"] = JsonContent(schemas.MessageSchema(gateway::v1::ErrorBody::descriptor()));
  responses["default"] = std::move(err);
  op["responses"] = std::move(responses);
  return op;
}

Json PlainOperation(absl::string_view summary, absl::string_view content_type) {
  Json op = Json::object();
  op["summary"] = std::string(summary);
  op["tags"] = Json::array();
  op["tags"].push_back("gateway");
  op["security"] = Json::array();
  Json ok = Json::object();
  ok["description"] = "OK";
  Json media = Json::object();
  media[std::string(content_type)] = Json::object();
  ok["content"] = std::move(media);
  Json responses = Json::object();
  responses["200"] = std::move(ok);
  op["responses"] = std::move(responses);
  return op;
}

}  // namespace

std::string BuildOpenApiJson(const RouteTable& routes, const OpenApiOptions& options) {
  SchemaBuilder schemas;
  schemas.Define(gateway::v1::ErrorBody::descriptor());

  // Paths in route order would interleave; group by OpenAPI path, in the order first seen.
  std::vector<std::string> order;
  std::map<std::string, Json> paths;
  for (const Route& r : routes.routes()) {
    const std::string path = r.path.OpenApiPath();
    if (paths.find(path) == paths.end()) {
      order.push_back(path);
      paths[path] = Json::object();
    }
    std::string method = r.http_method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[path][method] = Operation(r, options, schemas);
  }
  Json paths_json = Json::object();
  for (const std::string& p : order) paths_json[p] = std::move(paths[p]);
  paths_json["/healthz"]["get"] = PlainOperation("Liveness: the gateway process is up", "application/json");
  paths_json["/readyz"]["get"] =
      PlainOperation("Readiness: every backend is serving (503 otherwise)", "application/json");
  paths_json["/metrics"]["get"] = PlainOperation("Prometheus metrics", "text/plain");
  paths_json["/openapi.json"]["get"] = PlainOperation("This document", "application/json");

  Json doc = Json::object();
  doc["openapi"] = "3.0.3";
  Json info = Json::object();
  info["title"] = options.title;
  info["version"] = options.version;
  info["description"] = options.description.empty()
                            ? "Generated from the (marketlens.api.http) options of the gRPC services. "
                              "Bodies and responses use protobuf's JSON mapping; errors are ErrorBody."
                            : options.description;
  doc["info"] = std::move(info);
  Json servers = Json::array();
  Json server = Json::object();
  server["url"] = "/";
  servers.push_back(std::move(server));
  doc["servers"] = std::move(servers);
  Json security = Json::array();
  Json bearer = Json::object();
  bearer["bearerAuth"] = Json::array();
  security.push_back(std::move(bearer));
  Json header = Json::object();
  header["apiKeyHeader"] = Json::array();
  security.push_back(std::move(header));
  doc["security"] = std::move(security);
  Json tags = Json::array();
  for (const auto* s : routes.services()) {
    Json t = Json::object();
    t["name"] = s->name();
    t["description"] = s->full_name();
    tags.push_back(std::move(t));
  }
  doc["tags"] = std::move(tags);
  doc["paths"] = std::move(paths_json);

  Json schemes = Json::object();
  Json bearer_scheme = Json::object();
  bearer_scheme["type"] = "http";
  bearer_scheme["scheme"] = "bearer";
  bearer_scheme["description"] = "Authorization: Bearer mlk_...";
  schemes["bearerAuth"] = std::move(bearer_scheme);
  Json header_scheme = Json::object();
  header_scheme["type"] = "apiKey";
  header_scheme["in"] = "header";
  header_scheme["name"] = "X-Api-Key";
  schemes["apiKeyHeader"] = std::move(header_scheme);
  Json components = Json::object();
  components["securitySchemes"] = std::move(schemes);
  components["schemas"] = schemas.Components();
  doc["components"] = std::move(components);
  // Descriptor names are valid UTF-8; replace rather than throw if one ever is not.
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace marketlens::gateway
