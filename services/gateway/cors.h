// CORS for the REST API, so that a dashboard served from another origin (a dev server, another host) can
// call it from a browser. Allowed origins are configured (--cors_origins); "*" allows any origin. Allowed
// origins are echoed (never "*", so that credentials such as the Authorization header may be sent) with
// "Vary: Origin", and the headers a client needs to read (X-Request-Id, Retry-After, X-Cache) are exposed.
// Same-origin requests (the dashboard served by the gateway itself) need none of this.
#ifndef MARKETLENS_SERVICES_GATEWAY_CORS_H_
#define MARKETLENS_SERVICES_GATEWAY_CORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/gateway/http_server.h"

namespace marketlens::gateway {

struct CorsOptions {
  std::vector<std::string> allowed_origins;  // exact "scheme://host[:port]", or "*"
  absl::Duration max_age = absl::Minutes(10);
};

class Cors {
 public:
  explicit Cors(CorsOptions options) : options_(std::move(options)) {}

  bool OriginAllowed(absl::string_view origin) const;
  // An OPTIONS request with Origin and Access-Control-Request-Method.
  static bool IsPreflight(const HttpRequest& request);
  // 204 with the Access-Control-Allow-* headers when the origin is allowed; 204 without them (the browser
  // then refuses) when not.
  HttpResponse Preflight(const HttpRequest& request) const;
  // Headers to add to a normal response to a request with this Origin ("" or not allowed: none).
  std::vector<std::pair<std::string, std::string>> ResponseHeaders(absl::string_view origin) const;

 private:
  const CorsOptions options_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_CORS_H_
