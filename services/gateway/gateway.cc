#include "services/gateway/gateway.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/logging/grpc_request_id.h"
#include "common/logging/log.h"
#include "services/gateway/openapi.h"

namespace marketlens::gateway {
namespace {

constexpr char kJson[] = "application/json";

// A bounded set of method labels for metrics, whatever clients send.
std::string MethodLabel(absl::string_view method) {
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
    if (method == m) return m;
  }
  return "other";
}

bool IsJsonContentType(absl::string_view ct) {
  absl::string_view type = ct.substr(0, ct.find(';'));
  type = absl::StripAsciiWhitespace(type);
  const std::string lower = absl::AsciiStrToLower(type);
  return lower == "application/json" ||
         (absl::StartsWith(lower, "application/") && absl::EndsWith(lower, "+json"));
}

// The API key of a request: "Authorization: Bearer <key>" or "X-Api-Key: <key>"; "" when none.
std::string KeyOf(const HttpRequest& r) {
  absl::string_view auth = absl::StripAsciiWhitespace(r.Header("authorization"));
  if (!auth.empty()) {
    if (auth.size() > 7 && absl::EqualsIgnoreCase(auth.substr(0, 7), "bearer ")) {
      return std::string(absl::StripAsciiWhitespace(auth.substr(7)));
    }
    return std::string(auth);  // malformed scheme: refused as a bad key, not treated as missing
  }
  return std::string(absl::StripAsciiWhitespace(r.Header("x-api-key")));
}

std::string FullMethodName(const Route& r) { return r.method->full_name(); }

// 404 for an unknown path, 405 (with Allow) for a known path and another method.
ApiError NoRouteError(const HttpRequest& request, const RouteTable::Lookup& lookup) {
  if (lookup.allowed_methods.empty()) {
    return MakeError(absl::StatusCode::kNotFound,
                     absl::StrCat("no route for ", request.method, " ", request.path));
  }
  const std::string allowed = absl::StrJoin(lookup.allowed_methods, ", ");
  ApiError e = MakeError(
      absl::StatusCode::kUnimplemented,
      absl::StrCat(request.method, " is not allowed on ", request.path, " (allowed: ", allowed, ")"));
  e.http_status = 405;
  e.headers.emplace_back("Allow", allowed);
  return e;
}

// 415 for a non-empty body that is not JSON on a route that takes one.
std::optional<ApiError> CheckBodyContentType(const Route& route, const HttpRequest& request) {
  if (route.body.empty() || absl::StripAsciiWhitespace(request.body).empty()) return std::nullopt;
  const absl::string_view ct = request.Header("content-type");
  if (ct.empty() || IsJsonContentType(ct)) return std::nullopt;
  ApiError e = MakeError(absl::StatusCode::kInvalidArgument,
                         absl::StrCat("unsupported Content-Type \"", ct, "\": send application/json"));
  e.http_status = 415;
  return e;
}

// The client's "Grpc-Timeout" header, if any, as the backend call's deadline (zero: the route's default).
std::optional<ApiError> ParseDeadline(const HttpRequest& request, absl::Duration* timeout) {
  const absl::string_view t = request.Header("grpc-timeout");
  if (t.empty()) return std::nullopt;
  std::optional<absl::Duration> d = Transcoder::ParseGrpcTimeout(t);
  if (!d.has_value() || *d <= absl::ZeroDuration()) {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     absl::StrCat("bad Grpc-Timeout \"", t, "\" (e.g. 500m, 2S)"), "Grpc-Timeout");
  }
  *timeout = *d;
  return std::nullopt;
}

// "127.0.0.1:5555" -> "127.0.0.1" (the rate-limit key of anonymous callers).
std::string HostOf(absl::string_view remote) {
  const size_t colon = remote.rfind(':');
  return std::string(colon == absl::string_view::npos ? remote : remote.substr(0, colon));
}

}  // namespace

struct Gateway::Context {
  Responder respond;
  std::string request_id;
  std::string method;  // metrics label
  std::string route = "unmatched";
  std::string target;
  std::string remote;
  std::string user_agent;
  std::string origin;
  std::string key_id;
  std::string cache;  // "HIT", "MISS" or ""
  absl::Time started;
  // The client went away while its backend call was in flight (the call was cancelled).
  std::atomic<bool> client_gone{false};
};

Gateway::Gateway(GatewayOptions options, GatewayDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      cors_(options_.cors),
      limiter_(options_.rate_limit_per_second, options_.rate_limit_burst_seconds, deps_.clock) {
  OpenApiOptions o;
  o.required_scope = [this](const Route& r) -> std::string {
    if (!options_.require_api_key) return "";
    return ScopeName(RequiredScope(r));
  };
  o.success_status = [this](const Route& r) {
    return options_.accepted_methods.contains(FullMethodName(r)) ? 202 : 200;
  };
  openapi_json_ = BuildOpenApiJson(*deps_.routes, o);
}

Scope Gateway::RequiredScope(const Route& route) const {
  if (options_.admin_methods.contains(FullMethodName(route))) return Scope::kAdmin;
  return route.http_method == "GET" ? Scope::kRead : Scope::kWrite;
}

void Gateway::Handle(HttpRequest request, Responder respond) {
  auto ctx = std::make_shared<Context>();
  ctx->respond = std::move(respond);
  const absl::string_view client_id = request.Header("x-request-id");
  ctx->request_id = logging::IsValidRequestId(client_id) ? std::string(client_id) : logging::NewRequestId();
  logging::ScopedRequestId scoped(ctx->request_id);
  ctx->method = MethodLabel(request.method);
  ctx->target = SanitizeUtf8(absl::string_view(request.target).substr(0, 512));
  ctx->remote = request.remote_address;
  ctx->user_agent = SanitizeUtf8(request.Header("user-agent").substr(0, 200));
  ctx->origin = std::string(request.Header("origin"));
  ctx->started = request.started_at == absl::Time() ? absl::Now() : request.started_at;
  deps_.metrics->RequestStarted();

  if (Cors::IsPreflight(request)) {
    ctx->route = "preflight";
    HttpResponse r = cors_.Preflight(request);
    ctx->origin.clear();  // the preflight answer already has its CORS headers
    return Finish(ctx, std::move(r));
  }
  if (request.path == kIngestPath) return HandleIngestUpload(ctx, std::move(request));
  if (absl::StartsWith(request.path, "/api/")) return HandleApi(ctx, request);
  HandleBuiltin(ctx, request);
}

void Gateway::HandleBuiltin(const std::shared_ptr<Context>& ctx, const HttpRequest& request) {
  const std::string& path = request.path;
  const bool builtin =
      path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/openapi.json";
  if (builtin) ctx->route = absl::StrCat("builtin:", path);
  if (request.method != "GET") {
    const StaticAsset* asset = deps_.assets != nullptr ? deps_.assets->Find(path) : nullptr;
    if (builtin || asset != nullptr) {
      if (!builtin) ctx->route = "static";
      ApiError e = MakeError(absl::StatusCode::kUnimplemented,
                             absl::StrCat(request.method, " is not allowed on ", path));
      e.http_status = 405;
      e.headers.emplace_back("Allow", "GET");
      return FinishError(ctx, e);
    }
    return FinishError(ctx, MakeError(absl::StatusCode::kNotFound,
                                      absl::StrCat("no route for ", request.method, " ", path)));
  }
  HttpResponse r;
  if (path == "/healthz") {
    r.headers.emplace_back("Content-Type", kJson);
    r.body = R"({"status":"ok"})";
  } else if (path == "/readyz") {
    r.headers.emplace_back("Content-Type", kJson);
    if (draining_.load()) {
      r.status = 503;
      r.body = R"({"status":"draining","checks":{}})";
    } else if (deps_.health == nullptr) {
      r.body = R"({"status":"ready","checks":{}})";
    } else {
      BackendHealth::Report report = deps_.health->Current();
      r.status = report.ready ? 200 : 503;
      r.body = BackendHealth::ToJson(report);
    }
  } else if (path == "/metrics") {
    r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = deps_.metrics->Scrape();
  } else if (path == "/openapi.json") {
    r.headers.emplace_back("Content-Type", kJson);
    r.body = openapi_json_;
  } else {
    const StaticAsset* asset = deps_.assets != nullptr ? deps_.assets->Find(path) : nullptr;
    if (asset == nullptr) {
      return FinishError(ctx,
                         MakeError(absl::StatusCode::kNotFound, absl::StrCat("no route for GET ", path)));
    }
    ctx->route = "static";
    r.headers.emplace_back("ETag", asset->etag);
    r.headers.emplace_back("Cache-Control", "no-cache");
    if (request.Header("if-none-match") == asset->etag) {
      r.status = 304;
    } else {
      r.headers.emplace_back("Content-Type", asset->content_type);
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
      r.body = asset->body;
    }
  }
  Finish(ctx, std::move(r));
}

std::optional<ApiError> Gateway::Admit(const std::shared_ptr<Context>& ctx, const HttpRequest& request,
                                       Scope required, const std::string& label) {
  int key_rate = 0;
  std::string limiter_key;
  if (options_.require_api_key) {
    const std::string key = KeyOf(request);
    if (key.empty()) {
      if (!options_.anonymous_scope.has_value()) {
        deps_.metrics->Rejected("unauthenticated");
        ApiError e =
            MakeError(absl::StatusCode::kUnauthenticated,
                      "missing API key: send \"Authorization: Bearer <key>\" or \"X-Api-Key: <key>\"");
        e.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"marketlens\"");
        return e;
      }
      if (static_cast<int>(*options_.anonymous_scope) < static_cast<int>(required)) {
        deps_.metrics->Rejected("unauthenticated");
        ApiError e =
            MakeError(absl::StatusCode::kUnauthenticated,
                      absl::StrCat(label, " needs an API key with the ", ScopeName(required), " scope"));
        e.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"marketlens\"");
        return e;
      }
      limiter_key = absl::StrCat("anon:", HostOf(request.remote_address));
    } else {
      absl::StatusOr<ApiKey> k = deps_.authenticate(key);
      if (!k.ok()) {
        if (k.status().code() == absl::StatusCode::kUnauthenticated) {
          deps_.metrics->Rejected("unauthenticated");
          ApiError e = MakeError(absl::StatusCode::kUnauthenticated, k.status().message());
          e.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"marketlens\", error=\"invalid_token\"");
          return e;
        }
        deps_.metrics->Rejected("auth_unavailable");
        logging::Error("cannot check an API key", {{"error", k.status()}});
        return MakeError(absl::StatusCode::kUnavailable,
                         "API keys cannot be checked right now; try again shortly");
      }
      ctx->key_id = k->id;
      if (!k->Allows(required)) {
        deps_.metrics->Rejected("forbidden");
        std::vector<std::string> scopes;
        for (Scope s : k->scopes) scopes.push_back(ScopeName(s));
        return MakeError(absl::StatusCode::kPermissionDenied,
                         absl::StrCat("API key ", k->id, " has scope ", absl::StrJoin(scopes, ","), "; ",
                                      label, " needs ", ScopeName(required)));
      }
      key_rate = k->rate_limit_per_second;
      limiter_key = absl::StrCat("key:", k->id);
    }
  } else {
    limiter_key = absl::StrCat("anon:", HostOf(request.remote_address));
  }

  // Rate limit.
  const absl::Duration wait = limiter_.Acquire(limiter_key, key_rate);
  if (wait > absl::ZeroDuration()) {
    deps_.metrics->Rejected("rate_limited");
    const int seconds = PerKeyRateLimiter::RetryAfterSeconds(wait);
    ApiError e = MakeError(absl::StatusCode::kResourceExhausted,
                           absl::StrCat("rate limit exceeded; retry after ", seconds, " s"));
    e.headers.emplace_back("Retry-After", absl::StrCat(seconds));
    return e;
  }

  return std::nullopt;
}

// POST /api/v1/ingest (ingest_upload.h): write scope and the rate limit like any write, then the collector.
void Gateway::HandleIngestUpload(const std::shared_ptr<Context>& ctx, HttpRequest request) {
  ctx->route = "CollectorService.IngestFile";
  if (request.method != "POST") {
    ApiError e =
        MakeError(absl::StatusCode::kUnimplemented,
                  absl::StrCat(request.method, " is not allowed on ", request.path, " (allowed: POST)"));
    e.http_status = 405;
    e.headers.emplace_back("Allow", "POST");
    return FinishError(ctx, e);
  }
  if (deps_.uploads == nullptr) {
    return FinishError(ctx, MakeError(absl::StatusCode::kUnavailable, "uploads need a collector backend"));
  }
  UploadedFile probe;
  if (std::optional<ApiError> bad = ExtractUploadedFile(request.Header("content-type"), "", &probe);
      bad.has_value() && bad->http_status == 415) {
    return FinishError(ctx, *bad);  // before the key check: the answer does not depend on who asks
  }
  if (std::optional<ApiError> refused = Admit(ctx, request, Scope::kWrite, ctx->route)) {
    return FinishError(ctx, *refused);
  }
  deps_.uploads->Upload(std::move(request), ctx->request_id,
                        [this, ctx](int status, std::string json, std::optional<ApiError> error) {
                          logging::ScopedRequestId scoped(ctx->request_id);
                          if (error.has_value()) return FinishError(ctx, *error);
                          if (deps_.cache != nullptr)
                            deps_.cache->Invalidate("marketlens.analyzer.v1.AnalyzerService");
                          HttpResponse r;
                          r.status = status;
                          r.headers.emplace_back("Content-Type", kJson);
                          r.body = std::move(json);
                          Finish(ctx, std::move(r));
                        });
}

// The steps of an /api/ request, in order; each answers the client itself when it refuses.
void Gateway::HandleApi(const std::shared_ptr<Context>& ctx, HttpRequest& request) {
  RouteTable::Lookup lookup = deps_.routes->Find(request.method, request.path);
  if (lookup.route == nullptr) return FinishError(ctx, NoRouteError(request, lookup));
  const Route& route = *lookup.route;
  ctx->route = route.label;
  if (std::optional<ApiError> e = CheckBodyContentType(route, request)) return FinishError(ctx, *e);
  if (std::optional<ApiError> e = Admit(ctx, request, RequiredScope(route), route.label)) {
    return FinishError(ctx, *e);
  }
  absl::Duration timeout = absl::ZeroDuration();
  if (std::optional<ApiError> e = ParseDeadline(request, &timeout)) {
    deps_.metrics->Rejected("bad_request");
    return FinishError(ctx, *e);
  }
  auto call = std::make_shared<PreparedCall>();
  call->api_key_id = ctx->key_id;  // who asked, for the backends that audit it (privacy)
  if (std::optional<ApiError> e =
          deps_.transcoder->Prepare(route, lookup.bindings, request.query, request.body, call.get())) {
    deps_.metrics->Rejected("bad_request");
    return FinishError(ctx, *e);
  }
  std::optional<std::string> cache_key;
  if (AnswerFromCache(ctx, request, *call, &cache_key)) return;
  CallBackend(ctx, request, std::move(call), timeout, std::move(cache_key));
}

// Cached GETs (GatewayOptions::cached_methods): true when the client was answered from the cache. On a
// miss, `cache_key` is where CallBackend stores the backend's answer; it stays nullopt for uncached routes.
bool Gateway::AnswerFromCache(const std::shared_ptr<Context>& ctx, const HttpRequest& request,
                              const PreparedCall& call, std::optional<std::string>* cache_key) {
  const Route& route = *call.route;
  const bool cacheable = deps_.cache != nullptr && route.http_method == "GET" &&
                         options_.cached_methods.contains(FullMethodName(route));
  if (!cacheable) return false;
  // "Cache-Control: no-cache" skips the cached entry (and refreshes it).
  const bool no_cache = absl::StrContains(absl::AsciiStrToLower(request.Header("cache-control")), "no-cache");
  ResponseCache::Lookup hit =
      deps_.cache->Get(route.service()->full_name(), route.grpc_path, call.request_bytes, !no_cache);
  deps_.metrics->CacheLookup(route.label, hit.body.has_value());
  if (!hit.body.has_value()) {
    ctx->cache = "MISS";
    *cache_key = std::move(hit.key);
    return false;
  }
  ctx->cache = "HIT";
  HttpResponse r;
  r.headers.emplace_back("Content-Type", kJson);
  r.headers.emplace_back("X-Cache", "HIT");
  r.body = *std::move(hit.body);
  Finish(ctx, std::move(r));
  return true;
}

// The backend call, answered from its completion callback. A write invalidates the service's cached GETs.
// A client that goes away cancels the call (the backend sees its context cancelled).
void Gateway::CallBackend(const std::shared_ptr<Context>& ctx, const HttpRequest& request,
                          std::shared_ptr<PreparedCall> call, absl::Duration timeout,
                          std::optional<std::string> cache_key) {
  const bool is_write = call->route->http_method != "GET";
  Transcoder::Canceller cancel = deps_.transcoder->Invoke(
      *call, timeout, ctx->request_id,
      [this, ctx, call, cache_key = std::move(cache_key), is_write](CallResult result) {
        logging::ScopedRequestId scoped(ctx->request_id);
        if (!result.ok) {
          if (ctx->client_gone.load() && result.error.code == absl::StatusCode::kCancelled) {
            // 499 (nginx's "client closed request"): counted and logged, though nobody reads it.
            return FinishError(ctx, MakeError(absl::StatusCode::kCancelled,
                                              "the client closed the connection before the response"));
          }
          return FinishError(ctx, result.error);
        }
        if (cache_key.has_value() && !cache_key->empty()) deps_.cache->Put(*cache_key, result.json);
        if (is_write && deps_.cache != nullptr) deps_.cache->Invalidate(call->route->service()->full_name());
        HttpResponse r;
        // 202 Accepted for RPCs that start work finishing later (an erasure job).
        if (options_.accepted_methods.contains(FullMethodName(*call->route))) r.status = 202;
        r.headers.emplace_back("Content-Type", kJson);
        if (cache_key.has_value()) r.headers.emplace_back("X-Cache", "MISS");
        r.body = std::move(result.json);
        Finish(ctx, std::move(r));
      });
  // Holds the context weakly: the watch must not keep a finished request alive.
  if (request.disconnect != nullptr) {
    request.disconnect->OnDisconnect([weak = std::weak_ptr<Context>(ctx), cancel = std::move(cancel)] {
      if (std::shared_ptr<Context> c = weak.lock()) {
        c->client_gone.store(true);
        logging::ScopedRequestId scoped(c->request_id);
        logging::Info("client went away; cancelling its backend call", {{"route", c->route}});
      }
      cancel();
    });
  }
}

void Gateway::FinishError(const std::shared_ptr<Context>& ctx, const ApiError& error) {
  HttpResponse r;
  r.status = error.status();
  r.headers = error.headers;
  r.headers.emplace_back("Content-Type", kJson);
  r.body = ErrorBodyJson(error);
  if (r.status >= 500) {
    logging::Warn("request failed", {{"route", ctx->route},
                                     {"status", r.status},
                                     {"code", CodeName(error.code)},
                                     {"error", error.message}});
  }
  Finish(ctx, std::move(r));
}

void Gateway::Finish(const std::shared_ptr<Context>& ctx, HttpResponse response) {
  response.headers.emplace_back("X-Request-Id", ctx->request_id);
  for (auto& h : cors_.ResponseHeaders(ctx->origin)) response.headers.push_back(std::move(h));
  const absl::Duration took = absl::Now() - ctx->started;
  deps_.metrics->RequestFinished(ctx->route, ctx->method, response.status, took);
  if (options_.access_log) {
    logging::Info("http request", {{"method", ctx->method},
                                   {"target", ctx->target},
                                   {"route", ctx->route},
                                   {"status", response.status},
                                   {"duration_ms", absl::ToDoubleMilliseconds(took)},
                                   {"bytes", static_cast<long long>(response.body.size())},
                                   {"remote", ctx->remote},
                                   {"key_id", ctx->key_id},
                                   {"cache", ctx->cache},
                                   {"client_closed", ctx->client_gone.load()},
                                   {"user_agent", ctx->user_agent}});
  }
  ctx->respond(std::move(response));
}

void Gateway::OnProtocolError(int status, absl::string_view reason, absl::string_view remote) {
  deps_.metrics->Rejected(status == 408   ? "timeout"
                          : status == 413 ? "body_too_large"
                          : status == 431 ? "headers_too_large"
                          : status == 503 ? "too_many_connections"
                                          : "malformed");
  logging::Info("http request refused", {{"status", status}, {"reason", reason}, {"remote", remote}});
}

}  // namespace marketlens::gateway
