#include "services/gateway/gateway_stack.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/metrics/exposer.h"
#include "common/server/channel.h"
#include "common/status/macros.h"
#include "grpcpp/server_builder.h"
#include "marketlens/analyzer/v1/analyzer.pb.h"
#include "marketlens/collector/v1/collector.pb.h"
#include "marketlens/privacy/v1/privacy.pb.h"
#include "marketlens/recommender/v1/recommender.pb.h"

namespace marketlens::gateway {

std::vector<const google::protobuf::ServiceDescriptor*> GatewayStack::FrontedServices() {
  // Naming one message of each file links its generated code, which registers the file's descriptors
  // (services, methods and their http options) in the generated pool.
  return {collector::v1::StartCrawlRequest::descriptor()->file()->FindServiceByName("CollectorService"),
          analyzer::v1::AnalyzeTextRequest::descriptor()->file()->FindServiceByName("AnalyzerService"),
          recommender::v1::RecommendRequest::descriptor()->file()->FindServiceByName("RecommenderService"),
          privacy::v1::Erasure::descriptor()->file()->FindServiceByName("PrivacyService")};
}

std::vector<std::string> GatewayStack::DefaultAdminMethods() {
  return {"marketlens.recommender.v1.RecommenderService.PromoteModel",
          "marketlens.recommender.v1.RecommenderService.RollbackModel",
          "marketlens.recommender.v1.RecommenderService.ForgetUser",
          "marketlens.recommender.v1.RecommenderService.CreateExperiment",
          "marketlens.recommender.v1.RecommenderService.SetExperimentState",
          "marketlens.collector.v1.CollectorService.StartCrawl",
          "marketlens.collector.v1.CollectorService.CancelCrawl",
          // Privacy (docs/privacy.md): forgetting a person, reading the job, exporting their data.
          "marketlens.privacy.v1.PrivacyService.RequestErasure",
          "marketlens.privacy.v1.PrivacyService.GetErasure",
          "marketlens.privacy.v1.PrivacyService.ExportUser"};
}

// Hot list reads of the dashboard. Not ListModels: models are trained and promoted outside the gateway (the
// training CronJob, the recommender's bootstrap), so nothing would invalidate a cached list and a new model
// would stay invisible for --cache_ttl; the list is an admin read, not a hot one.
std::vector<std::string> GatewayStack::DefaultCachedMethods() {
  return {"marketlens.analyzer.v1.AnalyzerService.ListProductInsights",
          "marketlens.analyzer.v1.AnalyzerService.GetProductInsights",
          "marketlens.analyzer.v1.AnalyzerService.ListAlerts",
          "marketlens.analyzer.v1.AnalyzerService.TopPerformers",
          "marketlens.analyzer.v1.AnalyzerService.InteractionsByProduct"};
}

absl::StatusOr<std::unique_ptr<GatewayStack>> GatewayStack::Start(GatewayStackOptions options,
                                                                  postgres::PgPool* postgres,
                                                                  redis::RedisClient* redis) {
  std::unique_ptr<GatewayStack> s(new GatewayStack());
  auto registry = options.registry != nullptr ? options.registry : metrics::DefaultRegistry();

  ASSIGN_OR_RETURN(RouteTable routes, RouteTable::Build(FrontedServices()));
  s->routes_ = std::move(routes);

  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels;
  std::vector<HealthTarget> targets;
  std::map<std::string, std::shared_ptr<grpc::Channel>> privacy_backends;  // "collector" -> channel
  for (const auto& [service, address] : options.backends) {
    if (address.empty()) continue;
    auto channel = server::MakeChannel(address, {.registry = registry});
    channels[service] = channel;
    for (const std::string& step : ErasureSteps()) {
      if (absl::StrContains(absl::AsciiStrToLower(service), absl::StrCat(".", step, "."))) {
        privacy_backends[step] = channel;
      }
    }
    if (service == "marketlens.collector.v1.CollectorService") {
      s->uploads_ = std::make_unique<IngestUploader>(channel, options.uploads);
    }
    targets.push_back({.name = service, .channel = channel, .service = service});
  }
  // The privacy service runs in this process, behind the same routes and transcoder as any backend: an
  // in-process gRPC server (no port). Its erasure driver resumes pending jobs now.
  if (postgres != nullptr) {
    s->erasures_ = std::make_unique<ErasureStore>(postgres);
    std::map<std::string, ErasureStep> steps;
    for (const auto& [step, channel] : privacy_backends) steps[step] = GrpcErasureStep(step, channel);
    ErasureDriverOptions erasure = options.erasure;
    if (erasure.registry == nullptr) erasure.registry = registry;
    s->erasure_driver_ = std::make_unique<ErasureDriver>(s->erasures_.get(), std::move(steps), erasure);
  }
  s->privacy_ =
      std::make_unique<PrivacyServiceImpl>(s->erasures_.get(), s->erasure_driver_.get(), privacy_backends);
  {
    grpc::ServerBuilder builder;
    builder.RegisterService(s->privacy_.get());
    s->privacy_server_ = builder.BuildAndStart();
    if (s->privacy_server_ == nullptr)
      return absl::InternalError("cannot start the in-process privacy service");
    channels["marketlens.privacy.v1.PrivacyService"] =
        s->privacy_server_->InProcessChannel(grpc::ChannelArguments());
  }
  if (s->erasure_driver_ != nullptr && options.run_erasure_driver) s->erasure_driver_->Start();

  ASSIGN_OR_RETURN(std::unique_ptr<Transcoder> transcoder,
                   Transcoder::Create(&s->routes_, std::move(channels), options.transcoder));
  s->transcoder_ = std::move(transcoder);

  std::vector<ExtraCheck> extra;
  if (postgres != nullptr) {
    s->keys_ = std::make_unique<ApiKeyStore>(postgres, options.api_keys);
    extra.push_back({.name = "postgres", .check = [postgres] { return postgres->Ping(absl::Seconds(1)); }});
  } else if (options.gateway.require_api_key) {
    return absl::FailedPreconditionError("API keys need Postgres (or require_api_key = false)");
  }
  if (redis != nullptr && options.cache_ttl > absl::ZeroDuration()) {
    s->cache_ = std::make_unique<ResponseCache>(redis, options.cache_ttl);
  }
  s->health_ =
      std::make_unique<BackendHealth>(std::move(targets), std::move(extra), options.readiness_interval);
  s->health_->Start();
  s->metrics_ = std::make_unique<HttpMetrics>(registry);

  if (!options.static_dir.empty()) {
    ASSIGN_OR_RETURN(StaticAssets assets, StaticAssets::FromDirectory(options.static_dir));
    s->assets_ = std::move(assets);
  } else {
    s->assets_ = StaticAssets::Embedded();
  }

  GatewayDeps deps;
  deps.routes = &s->routes_;
  deps.transcoder = s->transcoder_.get();
  if (s->keys_ != nullptr) {
    ApiKeyStore* keys = s->keys_.get();
    deps.authenticate = [keys](absl::string_view key) { return keys->Authenticate(key); };
  }
  deps.metrics = s->metrics_.get();
  deps.cache = s->cache_.get();
  deps.health = s->health_.get();
  deps.assets = &s->assets_;
  deps.uploads = s->uploads_.get();
  if (s->uploads_ != nullptr) {
    options.http.upload_paths.push_back(kIngestPath);
    options.http.stream_uploads = options.uploads.stream;  // on to the collector as it arrives
  }
  s->gateway_ = std::make_unique<Gateway>(options.gateway, std::move(deps));

  Gateway* gw = s->gateway_.get();
  options.http.on_protocol_error = [gw](int status, absl::string_view reason, absl::string_view remote) {
    gw->OnProtocolError(status, reason, remote);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> http,
                   HttpServer::Start(options.http, [gw](HttpRequest request, Responder respond) {
                     gw->Handle(std::move(request), std::move(respond));
                   }));
  s->http_ = std::move(http);
  logging::Info("gateway listening", {{"http_port", s->http_->port()},
                                      {"routes", static_cast<int>(s->routes_.routes().size())},
                                      {"static_files", static_cast<int>(s->assets_.size())}});
  return s;
}

void GatewayStack::Stop(absl::Duration drain) {
  if (http_ != nullptr) http_->Stop(drain);
  if (health_ != nullptr) health_->Stop();
  if (erasure_driver_ != nullptr) erasure_driver_->Stop();
}

GatewayStack::~GatewayStack() {
  Stop(absl::Seconds(5));
  http_.reset();  // before what its handler uses
  if (privacy_server_ != nullptr)
    privacy_server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
}

}  // namespace marketlens::gateway
