#include "services/gateway/cors.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace marketlens::gateway {

bool Cors::OriginAllowed(absl::string_view origin) const {
  if (origin.empty()) return false;
  return std::any_of(options_.allowed_origins.begin(), options_.allowed_origins.end(),
                     [&](const std::string& o) { return o == "*" || o == origin; });
}

bool Cors::IsPreflight(const HttpRequest& request) {
  return request.method == "OPTIONS" && !request.Header("origin").empty() &&
         !request.Header("access-control-request-method").empty();
}

HttpResponse Cors::Preflight(const HttpRequest& request) const {
  HttpResponse r;
  r.status = 204;
  const absl::string_view origin = request.Header("origin");
  r.headers.emplace_back("Vary", "Origin");
  if (!OriginAllowed(origin)) return r;
  r.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers",
                         "Authorization, Content-Type, X-Api-Key, X-Request-Id, Grpc-Timeout");
  r.headers.emplace_back("Access-Control-Max-Age", absl::StrCat(absl::ToInt64Seconds(options_.max_age)));
  return r;
}

std::vector<std::pair<std::string, std::string>> Cors::ResponseHeaders(absl::string_view origin) const {
  std::vector<std::pair<std::string, std::string>> h;
  if (!OriginAllowed(origin)) return h;
  h.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  h.emplace_back("Vary", "Origin");
  h.emplace_back("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, X-Cache");
  return h;
}

}  // namespace marketlens::gateway
