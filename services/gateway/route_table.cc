#include "services/gateway/route_table.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "marketlens/api/annotations.pb.h"

namespace marketlens::gateway {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

absl::Status RuleError(const MethodDescriptor* m, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("route of ", m->full_name(), ": ", why));
}

// One rule (without its additional_bindings) -> Route.
absl::StatusOr<Route> MakeRoute(const MethodDescriptor* m, const api::HttpRule& rule, int binding) {
  Route r;
  r.method = m;
  r.binding = binding;
  r.grpc_path = absl::StrCat("/", m->service()->full_name(), "/", m->name());
  std::string pattern;
  switch (rule.pattern_case()) {
    case api::HttpRule::kGet:
      r.http_method = "GET";
      pattern = rule.get();
      break;
    case api::HttpRule::kPut:
      r.http_method = "PUT";
      pattern = rule.put();
      break;
    case api::HttpRule::kPost:
      r.http_method = "POST";
      pattern = rule.post();
      break;
    case api::HttpRule::kDelete:
      r.http_method = "DELETE";
      pattern = rule.delete_();
      break;
    case api::HttpRule::kPatch:
      r.http_method = "PATCH";
      pattern = rule.patch();
      break;
    default:
      return RuleError(m, "no get/put/post/delete/patch pattern");
  }
  absl::StatusOr<PathTemplate> tmpl = PathTemplate::Parse(pattern);
  if (!tmpl.ok()) return RuleError(m, tmpl.status().message());
  r.path = *std::move(tmpl);
  r.label = absl::StrCat(r.http_method, " ", r.path.text());

  const google::protobuf::Descriptor* input = m->input_type();
  for (const std::string& var : r.path.variable_fields()) {
    absl::StatusOr<FieldPath> fp = ResolveFieldPath(input, var);
    if (!fp.ok()) return RuleError(m, absl::StrCat("path variable {", var, "}: ", fp.status().message()));
    const FieldDescriptor* leaf = fp->back();
    if (leaf->is_repeated() || !IsUrlBindable(leaf)) {
      return RuleError(m, absl::StrCat("path variable {", var, "} must be a singular scalar field"));
    }
    r.path_fields.push_back(*std::move(fp));
  }
  r.body = rule.body();
  if (!r.body.empty() && r.body != "*") {
    const FieldDescriptor* f = input->FindFieldByName(r.body);
    if (f == nullptr)
      return RuleError(m, absl::StrCat("body \"", r.body, "\" names no field of ", input->full_name()));
    for (const FieldPath& p : r.path_fields) {
      if (p.front() == f)
        return RuleError(m, absl::StrCat("body field \"", r.body, "\" is also a path variable"));
    }
    r.body_field = {f};
  }
  return r;
}

}  // namespace

absl::StatusOr<RouteTable> RouteTable::Build(const std::vector<const ServiceDescriptor*>& services) {
  RouteTable table;
  table.services_ = services;
  std::vector<Route> routes;
  for (const ServiceDescriptor* s : services) {
    if (s == nullptr) return absl::InvalidArgumentError("null service descriptor");
    for (int i = 0; i < s->method_count(); ++i) {
      const MethodDescriptor* m = s->method(i);
      if (!m->options().HasExtension(api::http)) continue;
      if (m->client_streaming() || m->server_streaming()) {
        return RuleError(m, "streaming RPCs cannot be served over HTTP/JSON");
      }
      const api::HttpRule& rule = m->options().GetExtension(api::http);
      ASSIGN_OR_RETURN(Route main, MakeRoute(m, rule, 0));
      routes.push_back(std::move(main));
      int binding = 1;
      for (const api::HttpRule& extra : rule.additional_bindings()) {
        if (extra.additional_bindings_size() > 0) return RuleError(m, "additional_bindings cannot nest");
        ASSIGN_OR_RETURN(Route r, MakeRoute(m, extra, binding++));
        routes.push_back(std::move(r));
      }
    }
  }
  // The same method + template twice (also with different variable names) is a conflict.
  absl::flat_hash_set<std::string> seen;
  for (const Route& r : routes) {
    const std::string shape = absl::StrCat(r.http_method, " ", r.path.Shape());
    if (!seen.insert(shape).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("route ", r.label, " of ", r.method->full_name(), " is declared by another RPC too"));
    }
  }
  std::stable_sort(routes.begin(), routes.end(), [](const Route& a, const Route& b) {
    if (a.path.literal_count() != b.path.literal_count())
      return a.path.literal_count() > b.path.literal_count();
    return !a.path.has_multi_wildcard() && b.path.has_multi_wildcard();
  });
  table.routes_ = std::make_shared<std::vector<Route>>(std::move(routes));
  return table;
}

RouteTable::Lookup RouteTable::Find(absl::string_view http_method, absl::string_view path) const {
  Lookup out;
  const SplitPath split = SplitPath::Split(path);
  for (const Route& r : *routes_) {
    std::optional<PathBindings> b = r.path.Match(split);
    if (!b.has_value()) continue;
    if (r.http_method == http_method) {
      out.route = &r;
      out.bindings = *std::move(b);
      out.allowed_methods.clear();
      return out;
    }
    if (std::find(out.allowed_methods.begin(), out.allowed_methods.end(), r.http_method) ==
        out.allowed_methods.end()) {
      out.allowed_methods.push_back(r.http_method);
    }
  }
  return out;
}

}  // namespace marketlens::gateway
